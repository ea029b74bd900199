/**
 * The page's language: the browser's, or one chosen here (remembered on this device). Each
 * language is named in itself, so whoever cannot read the current one still finds theirs.
 * On the home page and in the session's Settings.
 */
import { NativeSelect } from '@chakra-ui/react';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { chooseLanguage, chosenLanguage, type Language, LANGUAGES } from '../../i18n';

export function LanguageSelect({ width = 'auto' }: { width?: NativeSelect.RootProps['width'] }) {
  const { t } = useTranslation();
  const [chosen, setChosen] = useState(chosenLanguage);
  return (
    <NativeSelect.Root size="sm" width={width}>
      <NativeSelect.Field
        aria-label={t('language.label')}
        title={t('language.label')}
        data-testid="language"
        value={chosen ?? ''}
        onChange={(e) => {
          const next = (e.currentTarget.value || null) as Language | null;
          setChosen(next);
          void chooseLanguage(next);
        }}
      >
        <option value="">{t('language.browser')}</option>
        {Object.entries(LANGUAGES).map(([code, name]) => (
          <option key={code} value={code} lang={code}>
            {name}
          </option>
        ))}
      </NativeSelect.Field>
      <NativeSelect.Indicator />
    </NativeSelect.Root>
  );
}
