// What src/browser.test.ts bundles for the page: the browser-safe module and Vega's view.
export { parse, View } from 'vega';
export * from '../src/index.js';
