// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';

// jsdom has no canvas: the scaffold stubs getContext() to return undefined, but
// @grafana/ui components such as Combobox measure text with a 2d context.
HTMLCanvasElement.prototype.getContext = function getContext() {
  return {
    font: '',
    measureText: (text) => ({ width: String(text ?? '').length * 7 }),
  };
};

// Used by floating and virtualised menus (Combobox) and not provided by jsdom.
if (typeof global.ResizeObserver === 'undefined') {
  global.ResizeObserver = class ResizeObserver {
    observe() {}
    unobserve() {}
    disconnect() {}
  };
}
if (typeof global.IntersectionObserver === 'undefined') {
  global.IntersectionObserver = class IntersectionObserver {
    observe() {}
    unobserve() {}
    disconnect() {}
    takeRecords() {
      return [];
    }
  };
}
if (!Element.prototype.scrollIntoView) {
  Element.prototype.scrollIntoView = () => {};
}

// Keep test output readable: drop the promotional notice i18next prints when @grafana/ui initialises it.
const consoleInfo = console.info;
console.info = (...args) => {
  if (typeof args[0] === 'string' && args[0].includes('i18next is made possible by')) {
    return;
  }
  consoleInfo(...args);
};
