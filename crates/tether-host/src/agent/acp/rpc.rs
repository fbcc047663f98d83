//! The JSON-RPC 2.0 layer ACP runs on: one message per line, classified on
//! the way in, built on the way out. Pure.

use serde_json::{Value, json};

/// JSON-RPC's "the method does not exist / is not available".
pub const METHOD_NOT_FOUND: i64 = -32601;

/// One line from the agent, classified.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    /// A call that wants an answer (`id` as the agent spelled it).
    Request {
        id: Value,
        method: String,
        params: Value,
    },
    Notification {
        method: String,
        params: Value,
    },
    /// The answer to one of our requests.
    Response {
        id: Value,
        outcome: Result<Value, RpcError>,
    },
    /// Not a JSON-RPC message: why.
    Malformed(String),
}

/// A JSON-RPC error object.
#[derive(Debug, Clone, PartialEq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (code {})", self.message, self.code)
    }
}

/// Classifies one line.
pub fn parse(line: &[u8]) -> Incoming {
    let message = match serde_json::from_slice::<Value>(line) {
        Ok(Value::Object(message)) => message,
        Ok(_) => return Incoming::Malformed("not a JSON object".into()),
        Err(e) => return Incoming::Malformed(format!("not JSON: {e}")),
    };
    let id = message.get("id").filter(|id| !id.is_null()).cloned();
    let params = message.get("params").cloned().unwrap_or(Value::Null);
    match (message.get("method").and_then(Value::as_str), id) {
        (Some(method), Some(id)) => Incoming::Request {
            id,
            method: method.to_owned(),
            params,
        },
        (Some(method), None) => Incoming::Notification {
            method: method.to_owned(),
            params,
        },
        (None, Some(id)) => {
            let outcome = match (message.get("result"), message.get("error")) {
                (_, Some(error)) => Err(RpcError {
                    code: error.get("code").and_then(Value::as_i64).unwrap_or(0),
                    message: error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("(no message)")
                        .to_owned(),
                }),
                (Some(result), None) => Ok(result.clone()),
                (None, None) => Ok(Value::Null),
            };
            Incoming::Response { id, outcome }
        }
        (None, None) => Incoming::Malformed("neither a method nor an id".into()),
    }
}

pub fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

pub fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

pub fn result(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error(id: &Value, code: i64, message: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_lines() {
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":"a","method":"fs/read_text_file","params":{}}"#),
            Incoming::Request {
                id: json!("a"),
                method: "fs/read_text_file".into(),
                params: json!({}),
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","method":"session/update"}"#),
            Incoming::Notification {
                method: "session/update".into(),
                params: Value::Null,
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":3,"result":{"x":1}}"#),
            Incoming::Response {
                id: json!(3),
                outcome: Ok(json!({"x": 1})),
            }
        );
        assert_eq!(
            parse(br#"{"jsonrpc":"2.0","id":3,"error":{"code":-32000,"message":"no"}}"#),
            Incoming::Response {
                id: json!(3),
                outcome: Err(RpcError {
                    code: -32000,
                    message: "no".into()
                }),
            }
        );
        assert!(matches!(parse(b"hello"), Incoming::Malformed(_)));
        assert!(matches!(parse(b"[1]"), Incoming::Malformed(_)));
        assert!(matches!(parse(b"{}"), Incoming::Malformed(_)));
    }

    #[test]
    fn builds_messages() {
        assert_eq!(
            error(&json!(7), METHOD_NOT_FOUND, "nope"),
            json!({"jsonrpc": "2.0", "id": 7, "error": {"code": -32601, "message": "nope"}})
        );
        assert_eq!(
            request(1, "initialize", json!({}))["method"],
            json!("initialize")
        );
    }
}
