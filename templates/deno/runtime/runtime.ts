// lambda-rt's Deno custom runtime: the Lambda Runtime API loop.
//
// _HANDLER=file.function imports $LAMBDA_TASK_ROOT/file.ts (or .mts, .js, .mjs) and calls its
// export `function` as `function(event, context)` for every event. The returned (or awaited) value is
// JSON-serialised as the response; a thrown error is reported to /error with errorType, errorMessage
// and stackTrace, and the loop goes on. A failure to load the handler is reported to /init/error and
// the runtime exits, as Lambda expects. Only Deno's built-ins are used: nothing to download.

const API = `http://${Deno.env.get("AWS_LAMBDA_RUNTIME_API")}/2018-06-01/runtime`;
const TASK_ROOT = Deno.env.get("LAMBDA_TASK_ROOT") ?? Deno.cwd();
const EXTENSIONS = [".ts", ".mts", ".js", ".mjs"];
/** Lambda's limit on a synchronous response. */
const MAX_RESPONSE_BYTES = 6291556;

/** The second argument of the handler. */
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
  clientContext?: unknown;
  identity?: unknown;
  getRemainingTimeInMillis(): number;
}

type Handler = (event: unknown, context: Context) => unknown;

interface ErrorDocument {
  errorType: string;
  errorMessage: string;
  stackTrace: string[];
}

class RuntimeError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

function errorDocument(error: unknown): ErrorDocument {
  if (error instanceof Error) {
    const stackTrace = (error.stack ?? "")
      .split("\n")
      .filter((line) => /^\s+at /.test(line))
      .map((line) => line.trim());
    return { errorType: error.name || "Error", errorMessage: error.message, stackTrace };
  }
  let errorMessage: string;
  try {
    errorMessage = typeof error === "string" ? error : JSON.stringify(error) ?? String(error);
  } catch {
    errorMessage = String(error);
  }
  return { errorType: "Error", errorMessage, stackTrace: [] };
}

/** POSTs a JSON document to the Runtime API; returns the HTTP status. */
async function post(path: string, body: string, errorType?: string): Promise<number> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (errorType !== undefined) {
    headers["Lambda-Runtime-Function-Error-Type"] = errorType;
  }
  const response = await fetch(`${API}/${path}`, { method: "POST", body, headers });
  await response.body?.cancel();
  return response.status;
}

async function postError(path: string, doc: ErrorDocument): Promise<number> {
  return await post(path, JSON.stringify(doc), doc.errorType);
}

async function initError(doc: ErrorDocument): Promise<never> {
  console.error(`lambda-rt deno runtime: init error: ${doc.errorType}: ${doc.errorMessage}`);
  try {
    await postError("init/error", doc);
  } catch {
    // The Runtime API is gone too; exiting is all that is left.
  }
  Deno.exit(1);
}

function fileExists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

async function loadHandler(): Promise<Handler> {
  const spec = Deno.env.get("_HANDLER") ?? "";
  const match = /^([^.]+)\.([A-Za-z_$][A-Za-z0-9_$]*)$/.exec(spec);
  if (match === null) {
    return await initError({
      errorType: "Runtime.MalformedHandlerName",
      errorMessage: `handler '${spec}' is not of the form file.function`,
      stackTrace: [],
    });
  }
  const [, file, name] = match;
  const candidates = EXTENSIONS.map((ext) => `${TASK_ROOT}/${file}${ext}`);
  const path = candidates.find(fileExists);
  if (path === undefined) {
    return await initError({
      errorType: "Runtime.HandlerNotFound",
      errorMessage: `handler file '${TASK_ROOT}/${file}' does not exist (tried ${
        EXTENSIONS.join(", ")
      })`,
      stackTrace: [],
    });
  }
  let module: Record<string, unknown>;
  try {
    const url = new URL("file:///");
    url.pathname = path; // percent-encodes spaces, `#` and `?` in the path
    module = await import(url.href);
  } catch (error) {
    const doc = errorDocument(error);
    return await initError({
      ...doc,
      errorType: "Runtime.ImportModuleError",
      errorMessage: `importing '${path}' failed: ${doc.errorType}: ${doc.errorMessage}`,
    });
  }
  const handler = module[name];
  if (typeof handler !== "function") {
    return await initError({
      errorType: "Runtime.HandlerNotFound",
      errorMessage: `'${path}' does not export a function '${name}'`,
      stackTrace: [],
    });
  }
  return handler as Handler;
}

function parseJsonHeader(value: string | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function contextFor(headers: Headers, requestId: string): Context {
  const deadlineMs = Number(headers.get("lambda-runtime-deadline-ms"));
  return {
    awsRequestId: requestId,
    invokedFunctionArn: headers.get("lambda-runtime-invoked-function-arn") ?? "",
    functionName: Deno.env.get("AWS_LAMBDA_FUNCTION_NAME") ?? "",
    functionVersion: Deno.env.get("AWS_LAMBDA_FUNCTION_VERSION") ?? "",
    memoryLimitInMB: Deno.env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE") ?? "",
    logGroupName: Deno.env.get("AWS_LAMBDA_LOG_GROUP_NAME") ?? "",
    logStreamName: Deno.env.get("AWS_LAMBDA_LOG_STREAM_NAME") ?? "",
    deadlineMs,
    clientContext: parseJsonHeader(headers.get("lambda-runtime-client-context")),
    identity: parseJsonHeader(headers.get("lambda-runtime-cognito-identity")),
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
}

async function serve(handler: Handler): Promise<never> {
  while (true) {
    const next = await fetch(`${API}/invocation/next`);
    const body = await next.text();
    const requestId = next.headers.get("lambda-runtime-aws-request-id");
    if (requestId === null) {
      console.error("lambda-rt deno runtime: the next invocation had no Lambda-Runtime-Aws-Request-Id header");
      Deno.exit(1);
    }
    const traceId = next.headers.get("lambda-runtime-trace-id");
    if (traceId !== null) {
      Deno.env.set("_X_AMZN_TRACE_ID", traceId);
    } else {
      Deno.env.delete("_X_AMZN_TRACE_ID");
    }

    let response: string;
    try {
      const result = await handler(JSON.parse(body), contextFor(next.headers, requestId));
      response = JSON.stringify(result === undefined ? null : result);
    } catch (error) {
      const doc = errorDocument(error);
      console.error(`${doc.errorType}: ${doc.errorMessage}`);
      await postError(`invocation/${requestId}/error`, doc);
      continue;
    }
    const status = await post(`invocation/${requestId}/response`, response);
    if (status === 413) {
      const size = new TextEncoder().encode(response).length;
      await postError(`invocation/${requestId}/error`, {
        errorType: "Function.ResponseSizeTooLarge",
        errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${MAX_RESPONSE_BYTES} bytes).`,
        stackTrace: [],
      });
    } else if (status !== 202) {
      console.error(`lambda-rt deno runtime: posting the response for ${requestId} got HTTP ${status}`);
    }
  }
}

await serve(await loadHandler());
