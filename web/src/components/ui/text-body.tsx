/** A received or sent text: clamped when long, with its http(s) links clickable. */
import { Box, Button, Link, Text } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { splitLinks } from '../../utils/linkify';

const PREVIEW_CHARS = 600;

export function TextBody({ text, label }: { text: string; label: string }) {
  const { t } = useTranslation();
  const [expanded, setExpanded] = useState(false);
  const long = text.length > PREVIEW_CHARS || text.split('\n').length > 8;
  const shown = expanded || !long ? text : `${text.slice(0, PREVIEW_CHARS)}…`;
  return (
    <Box>
      <Text
        as="pre"
        whiteSpace="pre-wrap"
        wordBreak="break-word"
        fontFamily="inherit"
        fontSize="sm"
        lineClamp={expanded ? undefined : 8}
        data-testid="item-text"
      >
        {splitLinks(shown).map((part, i) =>
          part.href ? (
            <Link key={i} href={part.href} target="_blank" rel="noopener noreferrer" color="teal.fg" textDecoration="underline" wordBreak="break-all">
              {part.text}
            </Link>
          ) : (
            part.text
          ),
        )}
      </Text>
      {long && (
        <Button variant="plain" size="xs" px="0" color="teal.fg" onClick={() => setExpanded((e) => !e)} aria-expanded={expanded} aria-label={expanded ? t('ui.showLessOf', { label }) : t('ui.showMoreOf', { label })}>
          {expanded ? t('ui.showLess') : t('ui.showMore')}
        </Button>
      )}
    </Box>
  );
}
