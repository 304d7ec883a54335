import { describe, expect, it } from 'vitest';
import { Api, parsePosition, type FetchFn } from '../src/api/client';

/** A scripted server: answers in turn, and records what each request sent. */
function scripted(answers: Array<{ status: number; headers?: Record<string, string>; body?: unknown }>) {
  const sent: Array<{ url: string; method: string; headers: Record<string, string> }> = [];
  const fetchFn: FetchFn = async (url, init) => {
    sent.push({ url, method: String(init.method), headers: { ...(init.headers as Record<string, string>) } });
    const a = answers.shift();
    if (!a) throw new Error('no answer scripted');
    return new Response(a.body === undefined ? null : JSON.stringify(a.body), { status: a.status, headers: a.headers });
  };
  return { sent, fetchFn };
}

describe('read your writes behind a replica (X-Read-After)', () => {
  it('reads a position as the server writes it, and refuses anything else', () => {
    expect(parsePosition('0/16B3D28')).toBe(0x16b3d28n);
    expect(parsePosition('1/0')).toBe(1n << 32n);
    expect(parsePosition('FFFFFFFF/FFFFFFFF')).toBe((1n << 64n) - 1n);
    for (const bad of ['', '0/', '/0', '123456789/0', '0/0 x', 'g/0', '0/0/0', null]) expect(parsePosition(bad)).toBeNull();
  });

  it('echoes the position a write answered with on every read after it, and not on writes', async () => {
    const { sent, fetchFn } = scripted([
      { status: 200, body: { loops: [] } },
      { status: 201, headers: { 'X-Read-After': '0/16B3D28' }, body: { loop: {} } },
      { status: 200, body: { loop: {} } },
      { status: 200, body: { loops: [] } },
      { status: 200, body: { loop: {} } },
    ]);
    const api = new Api('', fetchFn);
    await api.request('GET', '/api/loops');
    await api.request('POST', '/api/loops', { body: {} });
    await api.request('GET', '/api/loops/x');
    await api.request('GET', '/api/loops');
    await api.request('PUT', '/api/loops/x', { body: {} });
    expect(sent.map((s) => s.headers['X-Read-After'] ?? null)).toEqual([null, null, '0/16B3D28', '0/16B3D28', null]);
  });

  it('keeps the furthest position: an older answer does not move it back, a malformed one is ignored', async () => {
    const { sent, fetchFn } = scripted([
      { status: 201, headers: { 'X-Read-After': '1/10' } },
      { status: 200, headers: { 'X-Read-After': '0/FFFFFFFF' } },
      { status: 200, headers: { 'X-Read-After': 'nonsense' } },
      { status: 200 },
      { status: 200, headers: { 'X-Read-After': '1/A0' } },
      { status: 200 },
    ]);
    const api = new Api('', fetchFn);
    await api.request('POST', '/api/loops', { body: {} });
    await api.request('PATCH', '/api/loops/a', { body: {} });
    await api.request('DELETE', '/api/loops/b');
    await api.request('GET', '/api/loops/c');
    await api.request('PUT', '/api/loops/c', { body: {} });
    await api.request('GET', '/api/loops/c');
    expect(sent[3].headers['X-Read-After']).toBe('1/10');
    expect(sent[5].headers['X-Read-After']).toBe('1/A0');
  });
});
