//! Static files compiled into the binary: vendored htmx and uPlot, our CSS and chart script,
//! and the OpenAPI document. Names carry versions, so they are served as immutable.

use axum::extract::Path;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

/// (file name, content type, bytes).
const FILES: &[(&str, &str, &[u8])] = &[
    (
        "htmx-2.0.11.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/htmx-2.0.11.min.js"),
    ),
    (
        "uPlot-1.6.32.iife.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/uPlot-1.6.32.iife.min.js"),
    ),
    (
        "uPlot-1.6.32.min.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/vendor/uPlot-1.6.32.min.css"),
    ),
    (
        "dashboard-2.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/dashboard.css"),
    ),
    (
        "charts-4.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/charts.js"),
    ),
];

pub const OPENAPI: &str = include_str!("../../../../docs/openapi.yaml");

pub async fn file(Path(name): Path<String>) -> Response {
    match FILES.iter().find(|(n, _, _)| *n == name) {
        Some((_, content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, *content_type),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            *bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such file").into_response(),
    }
}

pub async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/yaml; charset=utf-8")],
        OPENAPI,
    )
        .into_response()
}
