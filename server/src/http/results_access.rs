//! `--protect-results`: the galleries behind the API token. An API client
//! sends the token as it does to /api/v1 (`Authorization: Bearer`); a
//! browser, whose image tags send no header, is shown a form once, and the
//! token it enters comes back as an HttpOnly cookie scoped to /results (a
//! digest of the token, not the token). No `Secure` flag: the server speaks
//! plain HTTP and cannot tell whether a proxy in front adds TLS.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use axum::Form;

use super::AppState;

const COOKIE: &str = "easel_results";

/// The cookie's value for `token`: a SHA-256 of it under this purpose's
/// own prefix, in hex. A leaked gallery cookie opens the galleries only: it
/// is not the API token and does not give it away.
fn cookie_value(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::new()
        .chain_update(b"easel results cookie\0")
        .chain_update(token.as_bytes())
        .finalize();
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the request carries the token, as a header or as the cookie.
fn carries(headers: &HeaderMap, token: &str) -> bool {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|g| super::same_secret(g.trim().as_bytes(), token.as_bytes()));
    let expected = cookie_value(token);
    let cookie = headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .any(|(name, value)| {
            name == COOKIE && super::same_secret(value.as_bytes(), expected.as_bytes())
        });
    bearer || cookie
}

/// Lets a request with the token through; answers the others 401 with the form.
pub async fn require(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let Some(token) = state.config.api_token.as_deref() else {
        return next.run(request).await;
    };
    if carries(request.headers(), token) {
        return next.run(request).await;
    }
    let back = request
        .uri()
        .path_and_query()
        .map_or("/results/".to_string(), |p| p.as_str().to_string());
    login_page(StatusCode::UNAUTHORIZED, &back, None)
}

#[derive(serde::Deserialize)]
pub struct Login {
    token: String,
    #[serde(default)]
    next: String,
}

/// The form's answer: the cookie and back to the page asked for, or the
/// form again.
pub async fn login(State(state): State<Arc<AppState>>, Form(form): Form<Login>) -> Response {
    // Only back into the galleries, never elsewhere.
    let next = if form.next.starts_with("/results") && !form.next.contains("//") {
        form.next.clone()
    } else {
        "/results/".to_string()
    };
    let Some(token) = state.config.api_token.as_deref() else {
        return (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
    };
    if !super::same_secret(form.token.trim().as_bytes(), token.as_bytes()) {
        return login_page(
            StatusCode::UNAUTHORIZED,
            &next,
            Some("That is not the server's token."),
        );
    }
    let cookie = format!(
        "{COOKIE}={}; Path=/results; HttpOnly; SameSite=Strict",
        cookie_value(token)
    );
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, next)]).into_response();
    if let Ok(value) = HeaderValue::from_str(&cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

#[derive(askama::Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    css: &'a str,
    next: &'a str,
    problem: Option<&'a str>,
}

fn login_page(status: StatusCode, next: &str, problem: Option<&str>) -> Response {
    use askama::Template;
    let page = LoginPage {
        css: crate::runs::pages::CSS,
        next,
        problem,
    };
    let html = match page.render() {
        Ok(html) => html,
        Err(e) => {
            return super::error::ApiError::internal("rendering the login form", e).into_response()
        }
    };
    let mut response = (status, Html(html)).into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"easel results\""),
    );
    response
}
