//! Requests that carry files and options, read one way for every route:
//! either the body is the route's one file (sent as one of its media types)
//! with options in the query, or a multipart form. A form's text fields
//! that name options are read with the query's by serde into the same
//! options type, so an option means the same in either place; every other
//! part is a file, kept in the order sent.

use std::marker::PhantomData;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Multipart, Request};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use serde::de::DeserializeOwned;
use serde::Deserializer;

use super::error::ApiError;

/// What a route takes: its options, its files, and how it may be sent.
pub trait FormSpec: Send + 'static {
    type Options: DeserializeOwned + Default + Send;
    /// The file the body is when sent bare, and the media types it may be
    /// sent as (none: only multipart forms).
    const BODY: &str;
    const BODY_TYPES: &[&str];
    /// The parts that are files.
    const FILES: &[&str];
    /// What another media type is called (`not supported`, `not a
    /// photo`), and how to send it, for the 415 that refuses it.
    const REFUSED: &str = "is not supported";
    const HOW: &str;
    /// What to do about a body past the server's limit.
    const TOO_LARGE: &str;
}

/// One file of a request.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    /// The file name a form gave it.
    pub file_name: Option<String>,
    pub data: Bytes,
}

/// A request as it arrived: its options and its files, in order.
pub struct Form<S: FormSpec> {
    pub options: S::Options,
    pub parts: Vec<Part>,
    spec: PhantomData<S>,
}

impl<S: FormSpec> Form<S> {
    /// The first file named `name`.
    pub fn file(&self, name: &str) -> Option<Bytes> {
        self.parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.data.clone())
    }
}

impl<S: FormSpec, St: Send + Sync> FromRequest<St> for Form<S> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &St) -> Result<Self, ApiError> {
        let query = query_pairs(request.uri().query().unwrap_or(""))?;
        let media = media_type(&request);
        let (options, parts) = match media.as_str() {
            t if S::BODY_TYPES.contains(&t) => {
                let data = Bytes::from_request(request, state)
                    .await
                    .map_err(|e| body_error::<S>(e.status(), e.body_text()))?;
                let part = Part {
                    name: S::BODY.to_string(),
                    file_name: None,
                    data,
                };
                (query, vec![part])
            }
            "multipart/form-data" => {
                let multipart = Multipart::from_request(request, state)
                    .await
                    .map_err(|e| ApiError::Malformed(e.body_text()))?;
                read_multipart::<S>(multipart, query).await?
            }
            "" => {
                return Err(ApiError::UnsupportedType(format!(
                    "no Content-Type: {}",
                    S::HOW
                )))
            }
            other => {
                return Err(ApiError::UnsupportedType(format!(
                    "Content-Type {other} {}: {}",
                    S::REFUSED,
                    S::HOW
                )))
            }
        };
        Ok(Self {
            options: options_from::<S::Options>(&options)?,
            parts,
            spec: PhantomData,
        })
    }
}

/// Options in the query alone, read as `Form` reads them.
pub struct QueryOptions<T>(pub T);

impl<T: DeserializeOwned, St: Send + Sync> FromRequestParts<St> for QueryOptions<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, ApiError> {
        let pairs = query_pairs(parts.uri.query().unwrap_or(""))?;
        options_from(&pairs).map(QueryOptions)
    }
}

/// The request's media type, lower case and without parameters; empty
/// when it has no Content-Type.
fn media_type(request: &Request) -> String {
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

fn body_error<S: FormSpec>(status: StatusCode, text: String) -> ApiError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge(format!("{text}; {}", S::TOO_LARGE))
    } else {
        ApiError::Malformed(text)
    }
}

fn query_pairs(query: &str) -> Result<Vec<(String, String)>, ApiError> {
    serde_urlencoded::from_str(query)
        .map_err(|e| ApiError::Malformed(format!("the query cannot be read: {e}")))
}

/// The form's files, and its option fields over the query's.
async fn read_multipart<S: FormSpec>(
    mut multipart: Multipart,
    mut options: Vec<(String, String)>,
) -> Result<(Vec<(String, String)>, Vec<Part>), ApiError> {
    let fields = option_fields::<S::Options>();
    let mut parts = Vec::new();
    while let Some(field) = multipart
        .next_field()
        .await
        .map_err(|e| body_error::<S>(e.status(), e.body_text()))?
    {
        let name = field.name().unwrap_or("").to_string();
        let file_name = field.file_name().map(str::to_string);
        let data = field
            .bytes()
            .await
            .map_err(|e| body_error::<S>(e.status(), e.body_text()))?;
        if fields.contains(&name.as_str()) {
            let text = String::from_utf8_lossy(&data).trim().to_string();
            options.retain(|(k, _)| *k != name);
            options.push((name, text));
        } else if S::FILES.contains(&name.as_str()) {
            parts.push(Part {
                name,
                file_name,
                data,
            });
        } else {
            let expected: Vec<&str> = S::FILES.iter().chain(fields).copied().collect();
            return Err(ApiError::Malformed(format!(
                "unknown multipart field `{name}`; expected {}",
                expected.join(", ")
            )));
        }
    }
    Ok((options, parts))
}

/// The options in `pairs`, or a 400 that names the one that cannot be read.
fn options_from<O: DeserializeOwned>(pairs: &[(String, String)]) -> Result<O, ApiError> {
    let whole = serde_urlencoded::to_string(pairs).unwrap_or_default();
    serde_urlencoded::from_str(&whole).map_err(|e| {
        let culprit = pairs.iter().find(|pair| {
            let one = serde_urlencoded::to_string([pair]).unwrap_or_default();
            serde_urlencoded::from_str::<O>(&one).is_err()
        });
        ApiError::Malformed(match culprit {
            Some((name, value)) => format!(
                "{name} `{value}` cannot be read ({e}); the options are described in /api/v1/openapi.json"
            ),
            None => format!("{e}; the options are described in /api/v1/openapi.json"),
        })
    })
}

/// A flag: true, 1, yes or on; false, 0, no, off or empty.
pub fn flag<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<bool>, D::Error> {
    let text: Option<String> = serde::Deserialize::deserialize(deserializer)?;
    let Some(text) = text else {
        return Ok(None);
    };
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" | "" => Ok(Some(false)),
        other => Err(serde::de::Error::custom(format!(
            "`{other}` is neither true nor false"
        ))),
    }
}

/// The field names of an options struct, as serde knows them.
fn option_fields<O: DeserializeOwned>() -> &'static [&'static str] {
    struct Fields(Option<&'static [&'static str]>);
    impl<'de> Deserializer<'de> for &mut Fields {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(
            self,
            _: V,
        ) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("not a struct"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            self.0 = Some(fields);
            Err(serde::de::Error::custom("fields read"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
            bytes byte_buf option unit unit_struct newtype_struct seq tuple
            tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields = Fields(None);
    let _ = O::deserialize(&mut fields);
    fields.0.unwrap_or(&[])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Default, serde::Deserialize, PartialEq)]
    struct Opts {
        seed: Option<u64>,
        #[serde(default, deserialize_with = "flag")]
        nearest: Option<bool>,
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn the_option_fields_are_the_structs() {
        assert_eq!(option_fields::<Opts>(), ["seed", "nearest"]);
    }

    #[test]
    fn options_read_as_serde_reads_them_and_a_bad_one_is_named() {
        let o: Opts = options_from(&pairs(&[("seed", "3"), ("nearest", "yes")])).unwrap();
        assert_eq!(
            o,
            Opts {
                seed: Some(3),
                nearest: Some(true)
            }
        );
        let e = options_from::<Opts>(&pairs(&[("nearest", "1"), ("seed", "abc")]))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("seed `abc`") && e.contains("openapi.json"),
            "{e}"
        );
        let e = options_from::<Opts>(&pairs(&[("nearest", "maybe")]))
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("neither true nor false"), "{e}");
    }
}
