#!/usr/bin/env node
/**
 * Container health checks (Dockerfile HEALTHCHECK, docker-compose.yml). Exit 0 = healthy.
 *   api:    GET http://127.0.0.1:$PORT/api/health must answer 200 (PostgreSQL and the queue up).
 *   worker: the worker has no HTTP; it is healthy when the two things it needs answer: PostgreSQL
 *           (SELECT 1 on DATABASE_URL) and Redis (PING on REDIS_URL). A hung worker process with
 *           healthy dependencies is not detected here (its runs' leases expire and are swept).
 */
'use strict';
const net = require('net');

const TIMEOUT_MS = 4000;

async function api() {
  const port = process.env.PORT || '3000';
  const res = await fetch(`http://127.0.0.1:${port}/api/health`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (res.status !== 200) throw new Error(`/api/health answered ${res.status}`);
}

function redisPing(url) {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port || 6379), u.hostname);
    socket.setTimeout(TIMEOUT_MS, () => socket.destroy(new Error('redis timeout')));
    socket.once('error', reject);
    socket.once('connect', () => {
      const auth = u.password
        ? `AUTH ${decodeURIComponent(u.username || 'default')} ${decodeURIComponent(u.password)}\r\n`
        : '';
      socket.write(`${auth}PING\r\n`);
    });
    socket.on('data', (chunk) => {
      if (chunk.toString().includes('+PONG')) {
        socket.end();
        resolve();
      } else if (chunk.toString().startsWith('-')) socket.destroy(new Error(chunk.toString().trim()));
    });
  });
}

async function worker() {
  const { Client } = require('pg');
  const client = new Client({ connectionString: process.env.DATABASE_URL, connectionTimeoutMillis: TIMEOUT_MS });
  await client.connect();
  try {
    await client.query('SELECT 1');
  } finally {
    await client.end();
  }
  await redisPing(process.env.REDIS_URL);
}

const role = process.argv[2] || 'api';
(role === 'worker' ? worker() : api()).then(
  () => process.exit(0),
  (error) => {
    console.error(`unhealthy (${role}): ${error.message}`);
    process.exit(1);
  },
);
