// conformance-worker: the reference behaviour served on FERRY_WORKER_ADDR, for
//   FERRY_WORKER_ADDR=127.0.0.1:50051 node examples/node/build/src/conformance-worker.js &
//   ferry conformance --worker 127.0.0.1:50051

import { serve } from "@ferry/sdk";

import { reference } from "./conformance/reference.js";

await serve(reference);
