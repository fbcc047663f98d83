//! A local receiver for alerts: an HTTP server on 127.0.0.1 that records
//! every POST it gets (path, JSON body, arrival) and answers as told.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::task::JoinHandle;

/// How the receiver answers.
#[derive(Debug, Clone, Copy)]
pub enum Answer {
    Ok,
    /// 500 to the first `n` POSTs, then 200.
    FailFirst(usize),
    /// Takes the request and never answers.
    Hang,
    /// 307 to `/followed` on the same receiver.
    Redirect,
}

#[derive(Debug, Clone)]
pub struct Post {
    /// Path and query.
    pub target: String,
    pub body: Value,
    pub at: Instant,
}

#[derive(Clone)]
struct Shared {
    answer: Answer,
    posts: Arc<Mutex<Vec<Post>>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    posts: Arc<Mutex<Vec<Post>>>,
    task: JoinHandle<()>,
}

impl Receiver {
    pub async fn start(answer: Answer) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let posts = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            answer,
            posts: posts.clone(),
        };
        let app = axum::Router::new()
            .fallback(axum::routing::post(record))
            .with_state(shared);
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Receiver { addr, posts, task }
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn posts(&self) -> Vec<Post> {
        self.posts.lock().unwrap().clone()
    }

    /// Waits up to `within` for `n` POSTs; returns what came.
    pub async fn wait_posts(&self, n: usize, within: Duration) -> Vec<Post> {
        let deadline = Instant::now() + within;
        loop {
            let posts = self.posts();
            if posts.len() >= n || Instant::now() >= deadline {
                return posts;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn record(State(shared): State<Shared>, uri: Uri, body: Bytes) -> Response {
    let body = serde_json::from_slice(&body).expect("alerts are JSON");
    let count = {
        let mut posts = shared.posts.lock().unwrap();
        posts.push(Post {
            target: uri
                .path_and_query()
                .map(ToString::to_string)
                .unwrap_or_default(),
            body,
            at: Instant::now(),
        });
        posts.len()
    };
    match shared.answer {
        Answer::Ok => StatusCode::OK.into_response(),
        Answer::FailFirst(n) if count <= n => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Answer::FailFirst(_) => StatusCode::OK.into_response(),
        Answer::Hang => std::future::pending().await,
        Answer::Redirect => (
            StatusCode::TEMPORARY_REDIRECT,
            [(axum::http::header::LOCATION, "/followed")],
        )
            .into_response(),
    }
}
