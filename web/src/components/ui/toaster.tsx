/** Chakra's toaster (the v3 snippet), placed once at the root. */
import { Toaster as ChakraToaster, createToaster, Portal, Stack, Toast } from '@chakra-ui/react';

/**
 * On a phone one toast at a time (a new one replaces it): stacked, three of them covered a
 * third of the screen, dialogs included. Four on larger screens, where they sit in a corner.
 */
const phone = typeof window !== 'undefined' && window.matchMedia?.('(max-width: 47.99em)').matches === true;

export const toaster = createToaster({ placement: 'bottom-end', pauseOnPageIdle: true, max: phone ? 1 : 4 });

export function Toaster() {
  return (
    <Portal>
      <ChakraToaster toaster={toaster} insetInline={{ mdDown: '4' }}>
        {(toast) => (
          <Toast.Root width={{ md: 'sm' }}>
            <Toast.Indicator />
            <Stack gap="1" flex="1" maxWidth="100%">
              {toast.title && <Toast.Title>{toast.title}</Toast.Title>}
              {toast.description && <Toast.Description>{toast.description}</Toast.Description>}
            </Stack>
            <Toast.CloseTrigger />
          </Toast.Root>
        )}
      </ChakraToaster>
    </Portal>
  );
}
