/**
 * The two shapes every dialog of the app takes. `DialogFrame` is what goes inside a Chakra
 * `Dialog.Root`: the backdrop, the centred panel with its title, body, optional footer and the
 * close button in the corner; the root (size, trigger, open state) stays with each dialog.
 * `ConfirmDialog` is a question with Cancel and one action button, as an alert dialog.
 */
import { Button, CloseButton, Dialog, Portal, type ButtonProps } from '@chakra-ui/react';
import { useRef, type ReactElement, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

interface FrameProps {
  title: ReactNode;
  children: ReactNode;
  footer?: ReactNode;
  contentProps?: Dialog.ContentProps;
  titleProps?: Dialog.TitleProps;
  bodyProps?: Dialog.BodyProps;
}

export function DialogFrame({ title, children, footer, contentProps, titleProps, bodyProps }: FrameProps) {
  return (
    <Portal>
      <Dialog.Backdrop />
      <Dialog.Positioner>
        <Dialog.Content {...contentProps}>
          <Dialog.Header>
            <Dialog.Title {...titleProps}>{title}</Dialog.Title>
          </Dialog.Header>
          <Dialog.Body {...bodyProps}>{children}</Dialog.Body>
          {footer && <Dialog.Footer>{footer}</Dialog.Footer>}
          <Dialog.CloseTrigger asChild>
            <CloseButton size="sm" />
          </Dialog.CloseTrigger>
        </Dialog.Content>
      </Dialog.Positioner>
    </Portal>
  );
}

interface ConfirmProps {
  title: ReactNode;
  children: ReactNode;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  /** The action button's label and colour, and what it does (the dialog stays open: close it there). */
  action: string;
  actionPalette: ButtonProps['colorPalette'];
  onAction: () => void;
  /** Which button has the focus when the dialog opens, so what Enter does is a choice. */
  focus: 'cancel' | 'action';
  /** A button that opens the dialog, when something other than `open` does not. */
  trigger?: ReactElement;
  size?: Dialog.RootProps['size'];
  onExitComplete?: () => void;
}

export function ConfirmDialog({ title, children, open, onOpenChange, action, actionPalette, onAction, focus, trigger, size = 'sm', onExitComplete }: ConfirmProps) {
  const { t } = useTranslation();
  const cancelRef = useRef<HTMLButtonElement>(null);
  const actionRef = useRef<HTMLButtonElement>(null);
  return (
    <Dialog.Root
      role="alertdialog"
      placement="center"
      size={size}
      open={open}
      onOpenChange={(e) => onOpenChange(e.open)}
      onExitComplete={onExitComplete}
      initialFocusEl={() => (focus === 'cancel' ? cancelRef : actionRef).current}
    >
      {trigger && <Dialog.Trigger asChild>{trigger}</Dialog.Trigger>}
      <DialogFrame
        title={title}
        footer={
          <>
            <Dialog.ActionTrigger asChild>
              <Button ref={cancelRef} variant="outline">
                {t('common.cancel')}
              </Button>
            </Dialog.ActionTrigger>
            <Button ref={actionRef} colorPalette={actionPalette} onClick={onAction}>
              {action}
            </Button>
          </>
        }
      >
        {children}
      </DialogFrame>
    </Dialog.Root>
  );
}
