// @vitest-environment happy-dom
/** Component tests (Testing Library): text links, the paste question, and Clear's question. */
import { ChakraProvider, defaultSystem } from '@chakra-ui/react';
import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import type { ReactNode } from 'react';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { ClearAllButton } from './clear-all-button';
import { PasteConfirm } from './paste-confirm';
import { TextBody } from '../../../components/ui/text-body';

const wrap = (ui: ReactNode) => render(<ChakraProvider value={defaultSystem}>{ui}</ChakraProvider>);

afterEach(() => {
  cleanup();
  localStorage.clear();
});

describe('TextBody', () => {
  test('makes http(s) links clickable in a new tab without opener or referrer, and nothing else', () => {
    wrap(<TextBody text="see https://example.com/a. and javascript:alert(1)" label="text" />);
    const links = screen.getAllByRole('link');
    expect(links).toHaveLength(1);
    expect(links[0].getAttribute('href')).toBe('https://example.com/a');
    expect(links[0].getAttribute('target')).toBe('_blank');
    expect(links[0].getAttribute('rel')).toBe('noopener noreferrer');
    expect(screen.getByTestId('item-text').textContent).toBe('see https://example.com/a. and javascript:alert(1)');
  });
});

describe('PasteConfirm', () => {
  test('shows the pasted text and shares only when asked', async () => {
    const onShare = vi.fn();
    const onClose = vi.fn();
    wrap(<PasteConfirm pasted={{ text: 'my secret' }} onShare={onShare} onClose={onClose} />);
    expect((await screen.findByTestId('paste-preview')).textContent).toBe('my secret');
    fireEvent.click(screen.getByRole('button', { name: 'Cancel' }));
    expect(onShare).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Share with everyone' }));
    expect(onShare).toHaveBeenCalledWith({ text: 'my secret' });
    expect(localStorage.getItem('sharethings.confirmPaste')).toBeNull();
  });

  test('lists pasted files by name and size', async () => {
    const file = new File(['12345'], 'notes.txt', { type: 'text/plain' });
    wrap(<PasteConfirm pasted={{ files: [file] }} onShare={() => {}} onClose={() => {}} />);
    expect((await screen.findByTestId('paste-file')).textContent).toContain('notes.txt');
    expect(screen.getByRole('heading', { name: 'Share this file with everyone?' })).toBeTruthy();
  });
});

describe('ClearAllButton', () => {
  test('says it clears every device and asks before clearing', async () => {
    const onConfirm = vi.fn();
    wrap(<ClearAllButton count={3} sessionId="family" onConfirm={onConfirm} />);
    fireEvent.click(screen.getByRole('button', { name: 'Clear on every device' }));
    const dialog = await screen.findByRole('alertdialog');
    expect(dialog.textContent).toContain('All 3 items in “family” will disappear from every device');
    expect(onConfirm).not.toHaveBeenCalled();
    fireEvent.click(screen.getByRole('button', { name: 'Clear every device' }));
    expect(onConfirm).toHaveBeenCalledOnce();
  });
});
