/** Shown while files are dragged over the page. */
import { Center, Text } from '@chakra-ui/react';
import { Upload } from 'lucide-react';
import { useTranslation } from 'react-i18next';

export function DropOverlay() {
  const { t } = useTranslation();
  return (
    <Center position="fixed" inset="0" zIndex="overlay" bg="teal.500/15" backdropFilter="blur(2px)" pointerEvents="none" p="6">
      <Center flexDirection="column" gap="3" borderWidth="2px" borderStyle="dashed" borderColor="teal.500" borderRadius="l3" bg="bg.panel" px="10" py="8" shadow="lg">
        <Upload size={28} aria-hidden="true" />
        <Text fontWeight="semibold">{t('share.drop')}</Text>
      </Center>
    </Center>
  );
}
