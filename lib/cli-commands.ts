// Subcommands beyond `info` register themselves here, one import per owning module.
import './inspect-command.js';
import './conformance-command.js';
import './sample-command.js';
