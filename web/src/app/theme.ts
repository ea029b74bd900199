/**
 * The design system: Chakra's base preset plus only the recipes this app uses (the full
 * preset ships every component's styles, about a third of the bundle), system fonts (no
 * external font files), calm neutrals.
 */
import { createSystem, defaultBaseConfig, defineConfig, mergeConfigs } from '@chakra-ui/react';
import {
  alertSlotRecipe,
  animationStyles,
  badgeRecipe,
  breakpoints,
  buttonRecipe,
  checkboxSlotRecipe,
  checkmarkRecipe,
  containerRecipe,
  dialogSlotRecipe,
  fieldSlotRecipe,
  globalCss,
  headingRecipe,
  iconRecipe,
  inputRecipe,
  keyframes,
  kbdRecipe,
  layerStyles,
  nativeSelectSlotRecipe,
  progressSlotRecipe,
  qrCodeSlotRecipe,
  semanticTokens,
  separatorRecipe,
  spinnerRecipe,
  textareaRecipe,
  textStyles,
  toastSlotRecipe,
  tokens,
  inputAddonRecipe,
} from '@chakra-ui/react/theme';

const SYSTEM_FONTS =
  'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans", "Liberation Sans", Arial, sans-serif';

const base = defineConfig({
  preflight: true,
  cssVarsPrefix: 'chakra',
  cssVarsRoot: ':where(html, .chakra-theme)',
  globalCss,
  theme: {
    breakpoints,
    keyframes,
    tokens,
    semanticTokens,
    textStyles,
    layerStyles,
    animationStyles,
    recipes: {
      badge: badgeRecipe,
      button: buttonRecipe,
      checkmark: checkmarkRecipe,
      container: containerRecipe,
      heading: headingRecipe,
      icon: iconRecipe,
      input: inputRecipe,
      inputAddon: inputAddonRecipe,
      kbd: kbdRecipe,
      separator: separatorRecipe,
      spinner: spinnerRecipe,
      textarea: textareaRecipe,
    },
    slotRecipes: {
      alert: alertSlotRecipe,
      checkbox: checkboxSlotRecipe,
      dialog: dialogSlotRecipe,
      field: fieldSlotRecipe,
      nativeSelect: nativeSelectSlotRecipe,
      progress: progressSlotRecipe,
      qrCode: qrCodeSlotRecipe,
      toast: toastSlotRecipe,
    },
  },
});

/**
 * Focus rings of at least 3:1 against the page in both modes (WCAG 1.4.11): Chakra's defaults
 * (gray.400, teal.500, …) reach only about 2.5:1 on white.
 */
const FOCUS_PALETTES = ['gray', 'teal', 'red', 'green', 'orange', 'blue'] as const;
const focusRings = Object.fromEntries(
  FOCUS_PALETTES.map((p) => [p, { focusRing: { value: { _light: `{colors.${p}.700}`, _dark: `{colors.${p}.300}` } } }]),
);

const app = defineConfig({
  theme: {
    tokens: {
      fonts: {
        heading: { value: SYSTEM_FONTS },
        body: { value: SYSTEM_FONTS },
      },
    },
    semanticTokens: {
      colors: {
        'bg.canvas': { value: { _light: '#f6f7f9', _dark: '#0d1014' } },
        'bg.panel': { value: { _light: '#ffffff', _dark: '#151a20' } },
        border: { value: { _light: '#e4e7ec', _dark: '#242b33' } },
        ...focusRings,
      },
    },
  },
  globalCss: {
    body: { bg: 'bg.canvas', color: 'fg' },
  },
});

export const system = createSystem(mergeConfigs(defaultBaseConfig, base, app));
