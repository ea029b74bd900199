import { HStack, Text } from '@chakra-ui/react';

/** The mark: two overlapping rounded squares (two devices), in the brand colour. */
export function LogoMark({ size = 28 }: { size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 32 32" aria-hidden="true">
      <rect x="3" y="3" width="18" height="18" rx="5" fill="var(--chakra-colors-teal-500)" />
      <rect x="11" y="11" width="18" height="18" rx="5" fill="var(--chakra-colors-teal-300)" fillOpacity="0.85" />
    </svg>
  );
}

export function Logo() {
  return (
    <HStack gap="2">
      <LogoMark />
      <Text fontWeight="semibold" fontSize="lg" letterSpacing="-0.01em">
        ShareThings
      </Text>
    </HStack>
  );
}
