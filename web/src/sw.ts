/*
 * The service worker: keeps the app shell (index.html, the hashed
 * scripts and styles, icons) in a cache named after the build, so the
 * composer opens and works with no network at all.  The build prepends
 * self.__MP_SHELL (the files) and self.__MP_VERSION (their hash).
 *
 * - navigations: the network first (a new deploy is seen at once), the
 *   cached index.html when the network fails;
 * - the shell's other files: the cache first (hashed names never change);
 * - /api/ and everything else: not touched (the sync engine decides).
 */
const sw = self as unknown as ServiceWorkerGlobalScope & { __MP_SHELL: string[]; __MP_VERSION: string };

const CACHE = 'mp-shell-' + sw.__MP_VERSION;
const SHELL = new Set(sw.__MP_SHELL);

sw.addEventListener('install', (event) => {
  event.waitUntil(
    caches.open(CACHE).then((c) => c.addAll(sw.__MP_SHELL)).then(() => sw.skipWaiting()),
  );
});

sw.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('mp-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => sw.clients.claim()),
  );
});

/** fetch, or a failure after `ms` (a network that hangs is no network). */
function fetchWithin(req: Request, ms: number): Promise<Response> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    fetch(req).then(
      (r) => {
        clearTimeout(t);
        resolve(r);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

async function navigation(req: Request): Promise<Response> {
  try {
    const res = await fetchWithin(req, 4000);
    if (res.ok) {
      const c = await caches.open(CACHE);
      await c.put('/', res.clone());
    }
    return res;
  } catch {
    const hit = await caches.match('/', { cacheName: CACHE });
    return hit ?? new Response('Offline and not cached yet', { status: 503, headers: { 'Content-Type': 'text/plain' } });
  }
}

async function shellFile(req: Request): Promise<Response> {
  const hit = await caches.match(req, { cacheName: CACHE });
  if (hit) return hit;
  const res = await fetch(req);
  if (res.ok) {
    const c = await caches.open(CACHE);
    await c.put(req, res.clone());
  }
  return res;
}

sw.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== sw.location.origin || url.pathname.startsWith('/api/')) return;
  if (req.mode === 'navigate') {
    event.respondWith(navigation(req));
  } else if (SHELL.has(url.pathname)) {
    event.respondWith(shellFile(req));
  }
});

export {};
