// The example handler: lambda-rt's Deno runtime imports this file for `_HANDLER=function.handler`
// and calls `handler(event, context)` for every event. The returned (or awaited) value is sent
// back as JSON; a thrown error is reported with its type, message and stack trace.

/** What the runtime passes as the second argument. */
export interface Context {
  awsRequestId: string;
  invokedFunctionArn: string;
  functionName: string;
  functionVersion: string;
  memoryLimitInMB: string;
  logGroupName: string;
  logStreamName: string;
  /** When Lambda stops the invocation, in milliseconds since the epoch. */
  deadlineMs: number;
  getRemainingTimeInMillis(): number;
}

export function handler(event: unknown, context: Context) {
  console.log(`request ${context.awsRequestId}: ${JSON.stringify(event)}`);
  return { message: "Hello from Deno", event };
}
