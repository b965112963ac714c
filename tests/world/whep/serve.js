// The test world's WHEP server: Meetecho's janus-whep-server in front of the
// world's Janus (WebSocket transport). Endpoints are made on request, one
// line each on standard input, and answered on standard output:
//   videoroom <id> <room> <feed> [token]   -> "endpoint <id>"
//   streaming <id> <mountpoint> [token]    -> "endpoint <id>"
//   destroy <id>                           -> "destroyed <id>"
//   ice <uri> [<uri>...]                   -> "ice <n>" (Link headers of later answers)
// Usage: node serve.js --janus ws://127.0.0.1:8188 --port 7090
import {JanusWhepServer} from 'janus-whep-server';
import readline from 'node:readline';

function arg(name, dflt)
{
	const i = process.argv.indexOf('--' + name);
	return i > 0 ? process.argv[i + 1] : dflt;
}

const server = new JanusWhepServer({
	janus : {address : arg('janus', 'ws://127.0.0.1:8188')},
	rest : {port : parseInt(arg('port', '7090'), 10), basePath : '/whep'},
	iceServers : [],
});
await server.start();
console.log('ready ' + arg('port', '7090'));

const rl = readline.createInterface({input : process.stdin});
rl.on('line', (line) => {
	const w = line.trim().split(/\s+/);
	try {
		if (w[0] === 'videoroom')
			server.createEndpoint({
				id : w[1],
				plugin : 'videoroom',
				room : parseInt(w[2], 10),
				feed : parseInt(w[3], 10),
				token : w[4]
			});
		else if (w[0] === 'streaming')
			server.createEndpoint({
				id : w[1],
				plugin : 'streaming',
				mountpoint : parseInt(w[2], 10),
				token : w[3]
			});
		else if (w[0] === 'ice') {
			server.config.iceServers = w.slice(1).map((uri) => ({ uri }));
			console.log('ice ' + (w.length - 1));
			return;
		} else if (w[0] === 'destroy') {
			server.destroyEndpoint({id : w[1]});
			console.log('destroyed ' + w[1]);
			return;
		} else
			throw new Error('unknown command ' + w[0]);
		console.log('endpoint ' + w[1]);
	} catch (e) {
		console.log('error ' + e.message);
	}
});
rl.on('close', () => process.exit(0));
