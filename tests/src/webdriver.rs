//! A small W3C WebDriver client, enough to drive the app window through tauri-driver.

use base64::Engine;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct WebDriver {
    http: reqwest::Client,
    base: String,
    session: String,
}

#[derive(Debug)]
pub struct WdError(pub String);

impl std::fmt::Display for WdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type Result<T> = std::result::Result<T, WdError>;

async fn call(http: &reqwest::Client, method: reqwest::Method, url: String, body: Option<Value>) -> Result<Value> {
    let mut req = http.request(method, &url);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.map_err(|e| WdError(format!("{url}: {e}")))?;
    let status = resp.status();
    let v: Value = resp.json().await.map_err(|e| WdError(format!("{url}: {e}")))?;
    if !status.is_success() {
        return Err(WdError(format!("{url}: {status} {v}")));
    }
    Ok(v["value"].clone())
}

impl WebDriver {
    /// Opens a session that launches `application` (a Tauri binary) via tauri-driver at `base`.
    pub async fn launch(base: &str, application: &str) -> Result<WebDriver> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client");
        let caps = json!({"capabilities": {"alwaysMatch": {"browserName": "wry", "tauri:options": {"application": application}}}});
        // tauri-driver accepts connections before its native WebKitWebDriver listens; a session
        // request in that gap fails to send (seen in CI under load), so retry those for a while.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let v = loop {
            match call(&http, reqwest::Method::POST, format!("{base}/session"), Some(caps.clone())).await {
                Err(WdError(m)) if m.contains("error sending request") && std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => break other?,
            }
        };
        let session = v["sessionId"]
            .as_str()
            .ok_or_else(|| WdError(format!("no session id in {v}")))?
            .to_owned();
        Ok(WebDriver {
            http,
            base: base.to_owned(),
            session,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.base, self.session)
    }

    async fn post(&self, path: &str, body: Value) -> Result<Value> {
        call(&self.http, reqwest::Method::POST, self.url(path), Some(body)).await
    }

    async fn get(&self, path: &str) -> Result<Value> {
        call(&self.http, reqwest::Method::GET, self.url(path), None).await
    }

    pub async fn find_all(&self, css: &str) -> Result<Vec<String>> {
        let v = match self.post("/elements", json!({"using": "css selector", "value": css})).await {
            // WebKitWebDriver answers this when a node it matched was replaced while it built
            // the answer (React re-rendering): nothing usable matched this instant.
            Err(WdError(m)) if m.contains("stale element") => return Ok(Vec::new()),
            other => other?,
        };
        Ok(v.as_array()
            .map(|a| a.iter().filter_map(|e| e[ELEMENT_KEY].as_str().map(str::to_owned)).collect())
            .unwrap_or_default())
    }

    /// Waits until at least one element matches and returns the first.
    pub async fn wait_for(&self, css: &str, timeout: Duration) -> Result<String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(e) = self.find_all(css).await?.into_iter().next() {
                return Ok(e);
            }
            if Instant::now() > deadline {
                return Err(WdError(format!("no element matches {css} after {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until `css`'s text satisfies `pred`; returns the text.
    pub async fn wait_text(&self, css: &str, timeout: Duration, pred: impl Fn(&str) -> bool) -> Result<String> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            if let Some(e) = self.find_all(css).await?.into_iter().next() {
                last = self.text(&e).await.unwrap_or_default();
                if pred(&last) {
                    return Ok(last);
                }
            }
            if Instant::now() > deadline {
                return Err(WdError(format!("{css} text is {last:?} after {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Types into a field until it holds `text` (a dialog that is still opening can drop keys).
    pub async fn fill(&self, css: &str, text: &str) -> Result<()> {
        for _ in 0..5 {
            let el = self.wait_for(css, Duration::from_secs(10)).await?;
            let current = self
                .execute(&format!("return document.querySelector('{}').value", css.replace('\'', "\\'")))
                .await?;
            if current.as_str() == Some(text) {
                return Ok(());
            }
            // A re-render can replace the node between finding and typing: find it again.
            match self.clear(&el).await {
                Err(WdError(m)) if m.contains("stale element") => continue,
                other => other?,
            }
            match self.send_keys(&el, text).await {
                Err(WdError(m)) if m.contains("stale element") => continue,
                other => other?,
            }
            // Fast typing looks like a scanner burst at first: the app holds those keys back and types
            // them in once the burst ends without Enter, so give it a moment.
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(150)).await;
                let value = self
                    .execute(&format!("return document.querySelector('{}').value", css.replace('\'', "\\'")))
                    .await?;
                if value.as_str() == Some(text) {
                    return Ok(());
                }
            }
        }
        Err(WdError(format!("{css} would not take the text")))
    }

    /// Waits until nothing matches `css`.
    pub async fn wait_gone(&self, css: &str, timeout: Duration) -> Result<()> {
        let deadline = std::time::Instant::now() + timeout;
        while !self.find_all(css).await?.is_empty() {
            if std::time::Instant::now() > deadline {
                return Err(WdError(format!("{css} still shown after {timeout:?}")));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Finds `css` and clicks it, finding it again if a re-render replaced the node in between.
    pub async fn click_on(&self, css: &str, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            let el = self.wait_for(css, timeout).await?;
            match self.click(&el).await {
                Err(WdError(m)) if m.contains("stale element") && Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                other => return other,
            }
        }
    }

    pub async fn click(&self, el: &str) -> Result<()> {
        self.post(&format!("/element/{el}/click"), json!({})).await.map(|_| ())
    }

    pub async fn send_keys(&self, el: &str, text: &str) -> Result<()> {
        self.post(&format!("/element/{el}/value"), json!({"text": text})).await.map(|_| ())
    }

    pub async fn clear(&self, el: &str) -> Result<()> {
        self.post(&format!("/element/{el}/clear"), json!({})).await.map(|_| ())
    }

    pub async fn text(&self, el: &str) -> Result<String> {
        Ok(self
            .get(&format!("/element/{el}/text"))
            .await?
            .as_str()
            .unwrap_or_default()
            .to_owned())
    }

    /// Runs a script in the page; useful for state the DOM does not show.
    pub async fn execute(&self, script: &str) -> Result<Value> {
        self.post("/execute/sync", json!({"script": script, "args": []})).await
    }

    pub async fn screenshot_png(&self) -> Result<Vec<u8>> {
        let v = self.get("/screenshot").await?;
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .map_err(|e| WdError(e.to_string()))
    }

    pub async fn quit(self) {
        let _ = call(
            &self.http,
            reqwest::Method::DELETE,
            format!("{}/session/{}", self.base, self.session),
            None,
        )
        .await;
    }
}
