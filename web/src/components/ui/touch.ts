/** Touch targets of at least 44 px on phones (Apple's and WCAG's size); compact from `md` on. */
export const TOUCH = { minW: { base: '11', md: 'auto' }, minH: { base: '11', md: 'auto' } };
