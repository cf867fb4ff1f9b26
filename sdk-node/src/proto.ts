// The generated ferry.v1 protocol (code from proto/ by protoc-gen-es, in src/gen), gathered
// in one module for code that needs the raw messages and service descriptors.

export * from "./gen/ferry/v1/gateway_pb.js";
export * from "./gen/ferry/v1/message_pb.js";
export * from "./gen/ferry/v1/worker_pb.js";
