// The smallest ferry worker in Node (README.md): one handler, served with the standard
// health service on the address ferry passes in FERRY_WORKER_ADDR; drains on SIGTERM.
import { deadLetter, done, type Message, serve } from "@ferry/sdk";

interface Order {
  id: string;
}

await serve((msg: Message) => {
  let order: Order;
  try {
    order = msg.json<Order>();
  } catch (err) {
    // Never processable: ferry moves it to the error queue with this reason.
    return deadLetter((err as Error).message);
  }
  // Done: ferry acks the message; the log line gets the standard shape and context.
  return done().log("info", `order ${order.id} received`);
});
