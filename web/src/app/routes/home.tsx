/** Home: what this is, and the join form. */
import { Box, Container, Flex, Heading, HStack, Stack, Text } from '@chakra-ui/react';
import { FileUp, Images, ShieldCheck } from 'lucide-react';
import { ColorModeButton } from '../../components/ui/color-mode';
import { InsecureBanner } from '../../components/ui/insecure-banner';
import { Logo } from '../../components/ui/logo';
import type { Invite } from '../../config/invite';
import { JoinForm } from '../../features/session/components/join-form';
import { TrustDialog } from '../../features/trust/trust-dialog';
import { usingFallbackCrypto } from '../../hooks/use-crypto';
import type { RoomClient } from '../../lib/room/room-client';

const POINTS = [
  { icon: ShieldCheck, text: 'End-to-end encrypted in your browser' },
  { icon: Images, text: 'Text, images and files of any size' },
  { icon: FileUp, text: 'Paste or drop anywhere to share' },
];

export function HomePage({ invite, onJoined }: { invite: Invite | null; onJoined: (room: RoomClient, created: boolean, passphrase: string) => void }) {
  return (
    <Flex direction="column" minH="100dvh">
      {usingFallbackCrypto() && <InsecureBanner />}
      <Container maxW="6xl" py="4">
        <HStack justify="space-between">
          <Logo />
          <HStack gap="1">
            <TrustDialog />
            <ColorModeButton />
          </HStack>
        </HStack>
      </Container>
      <Container as="main" maxW="6xl" flex="1" display="flex" alignItems="center" py={{ base: '4', md: '10' }}>
        <Flex w="full" gap={{ base: '6', lg: '20' }} direction={{ base: 'column', lg: 'row' }} align={{ lg: 'center' }}>
          <Stack flex="1" gap={{ base: '3', md: '5' }} maxW="lg">
            <Heading as="h1" fontSize={{ base: '2xl', md: '5xl' }} lineHeight="1.1" letterSpacing="-0.03em" fontWeight="bold">
              Move things between your devices.{' '}
              <Text as="span" color="teal.fg">
                Privately.
              </Text>
            </Heading>
            <Text color="fg.muted" fontSize={{ base: 'sm', md: 'lg' }}>
              Open the same session on your phone and computer, and anything you share shows up on the other
              side in real time. Only your devices hold the key.
            </Text>
            <Stack gap="2.5" hideBelow="md">
              {POINTS.map(({ icon: Icon, text }) => (
                <HStack key={text} gap="3" color="fg.muted">
                  <Icon size={18} aria-hidden="true" />
                  <Text>{text}</Text>
                </HStack>
              ))}
            </Stack>
          </Stack>
          <Box flex="1" maxW={{ lg: 'md' }} w="full" bg="bg.panel" borderWidth="1px" borderColor="border" borderRadius="l3" p={{ base: '5', md: '8' }} shadow="sm">
            <Heading as="h2" size="lg" mb={{ base: '5', sm: '1' }}>
              Join or start a session
            </Heading>
            <Text color="fg.muted" fontSize="sm" mb="6" hideBelow="sm">
              A new session name starts a new session; an existing one lets you in with its passphrase.
            </Text>
            <JoinForm initialSession={invite?.sessionId} initialPassphrase={invite?.passphrase} onJoined={onJoined} />
          </Box>
        </Flex>
      </Container>
    </Flex>
  );
}
