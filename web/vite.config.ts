// Builds the dashboard into ONE self-contained web/dist/index.html (script and styles inlined):
// the server sends it for GET /, which needs no API key, so no separate asset route has to be public.
import { defineConfig, type Plugin } from 'vite';
import { fileURLToPath } from 'node:url';

/** Moves the emitted JS and CSS into the HTML page and drops the separate files. */
function inlineIntoHtml(): Plugin {
  return {
    name: 'earshot-inline-into-html',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const html = Object.values(bundle).find((f) => f.type === 'asset' && f.fileName.endsWith('.html'));
      if (html?.type !== 'asset') return;
      let page = String(html.source);
      for (const [name, file] of Object.entries(bundle)) {
        if (file.type === 'chunk' && file.isEntry) {
          const tag = new RegExp(`<script type="module"[^>]*src="[^"]*${escapeRegExp(file.fileName)}"[^>]*></script>`);
          // "</script" inside the code would end the element early
          const code = file.code.replace(/<\/script/gi, '<\\/script');
          page = page.replace(tag, () => `<script type="module">${code}</script>`);
          delete bundle[name];
        } else if (file.type === 'asset' && file.fileName.endsWith('.css')) {
          const tag = new RegExp(`<link rel="stylesheet"[^>]*href="[^"]*${escapeRegExp(file.fileName)}"[^>]*>`);
          page = page.replace(tag, () => `<style>${String(file.source)}</style>`);
          delete bundle[name];
        }
      }
      html.source = page;
    },
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: './',
  logLevel: 'warn',
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    assetsInlineLimit: Number.MAX_SAFE_INTEGER,
    cssCodeSplit: false,
    modulePreload: false,
    rollupOptions: { output: { inlineDynamicImports: true } },
  },
  plugins: [inlineIntoHtml()],
});
