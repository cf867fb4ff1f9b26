// blast-list-sender: the BlastCustomerListSender worker as a process. Run it under ferry,
// from the repository root:
//   ferry run --config examples/rust/blast/demo/list-sender.toml -- node examples/node/build/src/blast-list-sender.js

import { serve } from "@ferry/sdk";

import { pathsFromEnv } from "./blast/config.js";
import { listSender } from "./blast/list-sender.js";

await serve(listSender(pathsFromEnv().directory));
