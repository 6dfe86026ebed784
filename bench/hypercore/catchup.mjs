// Hypercore catch-up, measured the way pando_bench_catchup measures Pando's (bench/README.md).
//
//   node catchup.mjs [--blocks N] [--block-bytes B] [--processes 1|2] [--timeout-s S]
//
// A writer core on disk (its own temp dir) is filled with N blocks of B bytes (defaults
// 1,000,000 and 307) before any timer starts. A second, empty core (the reader, opened with
// the writer's key, its own temp dir) then replicates from it over one TCP connection on
// 127.0.0.1, through hypercore's encrypted (Noise) replication stream. By default the writer
// runs in a child process, so two processes take part as in Pando's benchmark.
// Timed: from just before the reader core is opened until it holds all N blocks
// (download({start: 0, end: N}).done() and contiguousLength == N). Afterwards a sample of
// blocks is read back from the reader and compared with what the writer appended.
//
// Prints one JSON line on stdout; exits 1 with a message on stderr on any failure.
import { fork } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

import Hypercore from 'hypercore'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const FILL_BATCH = 10000
const SAMPLES = 1000

function fail(why) {
  process.stderr.write(`hypercore catchup: ${why}\n`)
  process.exit(1)
}

// Block i: its index in the first 8 bytes (when B >= 8), then a pattern that depends on i.
function makeBlock(i, bytes) {
  const b = Buffer.alloc(bytes)
  for (let k = 0; k < bytes; k++) b[k] = (i * 131 + k * 17 + 7) & 0xff
  if (bytes >= 8) b.writeBigUInt64LE(BigInt(i), 0)
  return b
}

function parseArgs(argv) {
  const opts = { blocks: 1000000, blockBytes: 307, processes: 2, timeoutS: 1200 }
  const flags = {
    '--blocks': 'blocks',
    '--block-bytes': 'blockBytes',
    '--processes': 'processes',
    '--timeout-s': 'timeoutS'
  }
  for (let i = 0; i < argv.length; i++) {
    const key = flags[argv[i]]
    const value = Number(argv[i + 1])
    if (key === undefined || !Number.isInteger(value) || value < 1) {
      fail(
        `bad argument ${argv[i]}\n` +
          'usage: node catchup.mjs [--blocks N] [--block-bytes B] [--processes 1|2] [--timeout-s S]'
      )
    }
    opts[key] = value
    i++
  }
  if (opts.processes !== 1 && opts.processes !== 2) fail('--processes must be 1 or 2')
  return opts
}

// The writer side: fills a core in `dir`, then serves it to every TCP connection on
// 127.0.0.1. Resolves to { key, port, close }.
async function startWriter(dir, blocks, blockBytes) {
  const core = new Hypercore(dir)
  await core.ready()
  for (let i = 0; i < blocks; i += FILL_BATCH) {
    const batch = []
    for (let j = i; j < Math.min(blocks, i + FILL_BATCH); j++) batch.push(makeBlock(j, blockBytes))
    await core.append(batch)
  }
  if (core.length !== blocks) throw new Error(`writer holds ${core.length} of ${blocks} blocks`)
  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const stream = core.replicate(false)
    stream.on('error', () => socket.destroy())
    socket.on('error', () => stream.destroy())
    socket.pipe(stream).pipe(socket)
  })
  await new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  return {
    key: core.key,
    port: server.address().port,
    cpuSeconds: null,
    async close() {
      server.close()
      for (const s of sockets) s.destroy()
      await core.close()
    }
  }
}

// Child process mode: the writer, driven by the parent over IPC.
async function writerChild() {
  process.on('disconnect', () => process.exit(0))
  try {
    const { dir, blocks, blockBytes } = JSON.parse(process.env.PANDO_HYPERCORE_WRITER)
    const writer = await startWriter(dir, blocks, blockBytes)
    process.on('message', async (m) => {
      if (m === 'cpu') {
        const u = process.cpuUsage()
        process.send({ cpu: (u.user + u.system) / 1e6 })
      } else if (m === 'stop') {
        await writer.close()
        process.exit(0)
      }
    })
    process.send({ key: writer.key.toString('hex'), port: writer.port })
  } catch (err) {
    process.send({ error: String(err && err.stack ? err.stack : err) })
    process.exit(1)
  }
}

// Starts the writer in a child process; resolves to { key, port, close }.
function startWriterProcess(dir, blocks, blockBytes) {
  const child = fork(fileURLToPath(import.meta.url), [], {
    env: { ...process.env, PANDO_HYPERCORE_WRITER: JSON.stringify({ dir, blocks, blockBytes }) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc']
  })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return new Promise((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`writer process exited with code ${code}`)))
    child.once('message', (m) => {
      if (m.error) return reject(new Error(`writer process: ${m.error}`))
      resolve({
        key: Buffer.from(m.key, 'hex'),
        port: m.port,
        child,
        // CPU seconds the writer process has used so far.
        cpuSeconds() {
          return new Promise((resolve) => {
            child.once('message', (r) => resolve(r.cpu))
            child.send('cpu')
          })
        },
        async close() {
          if (child.exitCode === null && child.signalCode === null) {
            child.send('stop')
            const timer = setTimeout(() => child.kill('SIGKILL'), 10000)
            await exited
            clearTimeout(timer)
          }
        }
      })
    })
  })
}

// CPU seconds all processes of the machine have used since boot (Linux /proc/stat, in
// USER_HZ = 100 ticks per second); null elsewhere.
function machineCpuSeconds() {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/)
    // user nice system idle iowait irq softirq steal: everything but idle and iowait.
    const t = cpu.slice(1, 9).map(Number)
    return (t[0] + t[1] + t[2] + t[5] + t[6] + t[7]) / 100
  } catch {
    return null
  }
}

function hypercoreVersion() {
  const pkg = path.join(HERE, 'node_modules', 'hypercore', 'package.json')
  return JSON.parse(fs.readFileSync(pkg, 'utf8')).version
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const { blocks, blockBytes } = opts
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pando-hypercore-'))
  let writer = null
  let reader = null
  let socket = null
  const cleanup = async () => {
    if (socket) socket.destroy()
    if (reader) await reader.close().catch(() => {})
    if (writer) await writer.close().catch(() => {})
    fs.rmSync(tmp, { recursive: true, force: true })
  }
  const watchdog = setTimeout(async () => {
    process.stderr.write(`hypercore catchup: gave up after ${opts.timeoutS} s\n`)
    if (writer && writer.child) writer.child.kill('SIGKILL')
    fs.rmSync(tmp, { recursive: true, force: true })
    process.exit(1)
  }, opts.timeoutS * 1000)
  watchdog.unref()

  try {
    const writerDir = path.join(tmp, 'writer')
    writer =
      opts.processes === 2
        ? await startWriterProcess(writerDir, blocks, blockBytes)
        : await startWriter(writerDir, blocks, blockBytes)

    const cpuSeconds = () => {
      const u = process.cpuUsage()
      return (u.user + u.system) / 1e6
    }
    const writerCpu0 = writer.cpuSeconds ? await writer.cpuSeconds() : 0
    const readerCpu0 = cpuSeconds()
    const machineCpu0 = machineCpuSeconds()
    const start = process.hrtime.bigint()
    reader = new Hypercore(path.join(tmp, 'reader'), writer.key)
    await reader.ready()
    const replicationError = new Promise((resolve, reject) => {
      socket = net.connect(writer.port, '127.0.0.1')
      const stream = reader.replicate(true)
      stream.on('error', (err) => reject(new Error(`replication stream: ${err.message}`)))
      socket.on('error', (err) => reject(new Error(`socket: ${err.message}`)))
      socket.pipe(stream).pipe(socket)
    })
    await Promise.race([reader.download({ start: 0, end: blocks }).done(), replicationError])
    if (reader.contiguousLength !== blocks) {
      throw new Error(`reader holds ${reader.contiguousLength} of ${blocks} blocks`)
    }
    const seconds = Number(process.hrtime.bigint() - start) / 1e9
    const readerCpu = cpuSeconds() - readerCpu0
    const machineCpu = machineCpuSeconds()
    const writerCpu = writer.cpuSeconds ? (await writer.cpuSeconds()) - writerCpu0 : null
    const otherCores =
      machineCpu === null
        ? null
        : Math.max(0, (machineCpu - machineCpu0 - readerCpu - (writerCpu || 0)) / seconds)

    // Read back a sample (the first, the last and evenly spread ones) from the reader's own
    // storage and compare it with what the writer appended.
    const step = Math.max(1, Math.floor(blocks / SAMPLES))
    const sample = new Set([0, blocks - 1])
    for (let i = 0; i < blocks; i += step) sample.add(i)
    for (const i of sample) {
      const got = await reader.get(i, { wait: false })
      if (got === null || !got.equals(makeBlock(i, blockBytes))) {
        throw new Error(`block ${i} read back from the reader differs from the writer's`)
      }
    }

    const result = {
      blocks,
      block_bytes: blockBytes,
      seconds: Number(seconds.toFixed(3)),
      blocks_per_s: Math.round(blocks / seconds),
      mb_per_s: Number(((blocks * blockBytes) / 1e6 / seconds).toFixed(2)),
      hypercore_version: hypercoreVersion(),
      node_version: process.version,
      processes: opts.processes,
      // CPU seconds used while timed: the reader's process (in one-process mode both
      // instances) and the writer's process (two-process mode only).
      cpu_s_reader: Number(readerCpu.toFixed(2)),
      cpu_s_writer: writerCpu === null ? null : Number(writerCpu.toFixed(2)),
      // Cores other processes of the machine used meanwhile, on average.
      other_cores: otherCores === null ? null : Number(otherCores.toFixed(2)),
      verified_blocks: sample.size
    }
    await cleanup()
    process.stdout.write(JSON.stringify(result) + '\n')
    process.exit(0)
  } catch (err) {
    await cleanup().catch(() => {})
    fail(err && err.message ? err.message : String(err))
  }
}

if (process.env.PANDO_HYPERCORE_WRITER) writerChild()
else main()
