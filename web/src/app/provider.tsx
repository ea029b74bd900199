/** Chakra provider, toaster and a last-resort error boundary. */
import { Box, Button, ChakraProvider, Heading, Text } from '@chakra-ui/react';
import { Component, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { Toaster } from '../components/ui/toaster';
import { system } from './theme';

class ErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  override state: { error?: Error } = {};
  static getDerivedStateFromError(error: Error) {
    return { error };
  }
  override render() {
    if (!this.state.error) return this.props.children;
    return <ErrorNotice message={this.state.error.message} />;
  }
}

function ErrorNotice({ message }: { message: string }) {
  const { t } = useTranslation();
  return (
    <Box maxW="md" mx="auto" mt="24" p="6" textAlign="center">
      <Heading size="md" mb="2">
        {t('app.somethingWrong')}
      </Heading>
      <Text color="fg.muted" mb="4">
        {message}
      </Text>
      <Button onClick={() => window.location.reload()}>{t('app.reload')}</Button>
    </Box>
  );
}

export function AppProvider({ children }: { children: ReactNode }) {
  return (
    <ChakraProvider value={system}>
      <ErrorBoundary>{children}</ErrorBoundary>
      <Toaster />
    </ChakraProvider>
  );
}
