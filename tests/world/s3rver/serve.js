// The S3 server of the test world (tests/world/s3_world.py):
// @20minutes/s3rver, which checks SigV4 signatures (credentials S3RVER /
// S3RVER). Data lives in DIR as plain files, so a restart with the same DIR
// keeps every bucket and object. No bucket is preconfigured: clients create
// them (PUT /bucket).
//
//   node serve.js PORT DIR
//
// Listens on 127.0.0.1:PORT, path-style only; prints "listening
// 127.0.0.1:PORT DIR" on stdout once it accepts connections, then one log
// line per request: `request {"method", "url", "status", "start", "end"}`
// (times in ms since the epoch: when it arrived, when it was answered; read by
// S3Server.requests()), among s3rver's own log lines.
'use strict'

const fs = require('node:fs')
const S3rver = require('@20minutes/s3rver')

const [port, dir] = process.argv.slice(2)
if (!port || !dir) {
  console.error('usage: node serve.js PORT DIR')
  process.exit(2)
}
fs.mkdirSync(dir, { recursive: true })

// Plain log lines: s3rver's logger colours them even without a tty.
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream)
  stream.write = (chunk, ...rest) =>
    write(typeof chunk === 'string' ? chunk.replace(/\x1b\[[0-9;]*m/g, '') : chunk, ...rest)
}

const server = new S3rver({
  address: '127.0.0.1',
  port: Number(port),
  directory: dir,
  vhostBuckets: false,
  configureBuckets: [],
  resetOnClose: false,
  silent: false,
})

server.run().then(
  (addr) => {
    // One access line per request (s3rver's own lines cut the URL short).
    server.httpServer.on('request', (req, res) => {
      const now = () => performance.timeOrigin + performance.now() // ms, µs precision
      const start = now()
      res.on('finish', () =>
        console.log(
          `request ${JSON.stringify({
            method: req.method,
            url: req.url,
            status: res.statusCode,
            start,
            end: now(),
          })}`
        )
      )
    })
    console.log(`listening ${addr.address}:${addr.port} ${dir}`)
  },
  (err) => {
    console.error(`s3rver: ${err.stack || err}`)
    process.exit(1)
  }
)

// SIGTERM: stop at once; every finished request is already on disk.
process.on('SIGTERM', () => process.exit(0))
