/*
 * The build: the app (index.html → hashed assets) plus the service
 * worker, compiled from src/sw.ts after the bundle is known, with the
 * list of files of the app shell and a version derived from their names
 * (a new build is a new cache; the old one is dropped on activate).
 */
import { defineConfig, type Plugin } from 'vite';
import { transformSync } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

function serviceWorker(): Plugin {
  return {
    name: 'mp-service-worker',
    apply: 'build',
    generateBundle(_options, bundle) {
      const files = Object.keys(bundle).filter((f) => !f.endsWith('.map'));
      const shell = ['/', ...files.map((f) => '/' + f), '/favicon.svg', '/manifest.json'];
      const version = createHash('sha256').update(shell.sort().join('\n')).digest('hex').slice(0, 12);
      const src = readFileSync(new URL('./src/sw.ts', import.meta.url), 'utf8');
      const js = transformSync(src, { loader: 'ts', format: 'iife', minify: true, target: 'es2020' }).code;
      this.emitFile({
        type: 'asset',
        fileName: 'sw.js',
        source: `self.__MP_SHELL=${JSON.stringify(shell)};self.__MP_VERSION=${JSON.stringify(version)};\n${js}`,
      });
    },
  };
}

export default defineConfig({
  plugins: [serviceWorker()],
  build: {
    target: 'es2020',
    sourcemap: false,
    assetsInlineLimit: 0,
  },
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['test/setup.ts'],
  },
});
