//! The dummy plugin: any login, any password. For tests and the demo only; `serve` refuses it
//! unless explicitly allowed.

use super::plugins::{AuthError, AuthFuture, Authenticator, Credentials, Identity};

/// Accepts every login whose name is not empty.
#[derive(Debug, Clone, Copy, Default)]
pub struct Dummy;

impl Authenticator for Dummy {
    fn authenticate<'a>(&'a self, credentials: &'a Credentials) -> AuthFuture<'a> {
        Box::pin(async move {
            match credentials.login.as_deref().map(str::trim) {
                Some(login) if !login.is_empty() => Ok(Identity { login: login.to_string(), ..Default::default() }),
                _ => Err(AuthError::InvalidCredentials),
            }
        })
    }

    fn is_insecure(&self) -> bool {
        true
    }
}
