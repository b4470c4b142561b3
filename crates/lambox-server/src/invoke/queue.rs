//! Asynchronous invocation: events accepted with 202 wait in the store until a worker delivers
//! them; failures are retried per the function's event invoke config, and records go to the
//! configured destinations. On start the queue simply resumes whatever is stored.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use lambox_core::arn::{FunctionRef, LATEST, NameShape};
use lambox_store::{AsyncEvent, Scope, Store};
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use super::{InvokeError, InvokeRequest, InvokeResult, Invoker, invoked_arn};

/// Lambda's defaults for asynchronous invocation.
const DEFAULT_RETRIES: u32 = 2;
const DEFAULT_MAX_AGE_SECONDS: u32 = 21_600;

/// The asynchronous event queue; cheap to clone.
#[derive(Clone)]
pub struct EventQueue {
    inner: Arc<Inner>,
    dispatcher: Option<tokio::task::AbortHandle>,
}

struct Inner {
    store: Store,
    invoker: Arc<Invoker>,
    wake: Notify,
    busy: Mutex<HashSet<i64>>,
    workers: Arc<Semaphore>,
    retry_base: Duration,
}

impl EventQueue {
    /// Starts delivering queued events with `workers` at a time.
    pub fn start(store: Store, invoker: Arc<Invoker>, workers: u32, retry_base: Duration) -> Self {
        let mut queue = Self {
            dispatcher: None,
            inner: Arc::new(Inner {
                store,
                invoker,
                wake: Notify::new(),
                busy: Mutex::new(HashSet::new()),
                workers: Arc::new(Semaphore::new(workers.max(1) as usize)),
                retry_base,
            }),
        };
        let q = queue.clone();
        queue.dispatcher = Some(tokio::spawn(async move { q.dispatch().await }).abort_handle());
        queue
    }

    /// The task that hands due events to workers (aborted when lambox stops).
    pub fn dispatcher(&self) -> tokio::task::AbortHandle {
        self.dispatcher.clone().expect("set by start")
    }

    /// Accepts an event: committed to the store before this returns.
    pub async fn enqueue(
        &self,
        scope: &Scope,
        name: &str,
        qualifier: &str,
        request_id: &str,
        payload: &[u8],
    ) -> Result<(), lambox_store::StoreError> {
        let now = lambox_core::time::now_millis();
        self.inner
            .store
            .enqueue_event(scope, name, qualifier, request_id, payload, now)
            .await?;
        self.inner.wake.notify_one();
        Ok(())
    }

    fn busy(&self) -> std::sync::MutexGuard<'_, HashSet<i64>> {
        self.inner.busy.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn dispatch(&self) {
        loop {
            let busy: Vec<i64> = self.busy().iter().copied().collect();
            let now = lambox_core::time::now_millis();
            let due = match self.inner.store.due_events(now, 64, &busy).await {
                Ok(d) => d,
                Err(e) => {
                    tracing::error!(error = %e, "cannot read the event queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
            };
            if due.is_empty() {
                // Events being delivered are not waited for: their end wakes this loop.
                let next = (self.inner.store.next_event_due_ms(&busy).await)
                    .ok()
                    .flatten();
                let wait = next.map_or(Duration::from_secs(5), |t| {
                    Duration::from_millis(u64::try_from(t - now).unwrap_or(0).clamp(20, 5000))
                });
                let _ = tokio::time::timeout(wait, self.inner.wake.notified()).await;
                continue;
            }
            for event in due {
                let Ok(permit) = self.inner.workers.clone().acquire_owned().await else {
                    return;
                };
                self.busy().insert(event.id);
                let q = self.clone();
                tokio::spawn(async move {
                    let id = event.id;
                    q.deliver(event).await;
                    q.busy().remove(&id);
                    drop(permit);
                    q.inner.wake.notify_one();
                });
            }
        }
    }

    async fn deliver(&self, mut ev: AsyncEvent) {
        let store = &self.inner.store;
        let scope = Scope {
            account: ev.account.clone(),
            region: ev.region.clone(),
        };
        let qualifier = (ev.qualifier != LATEST).then_some(ev.qualifier.as_str());
        let resolved = match self
            .inner
            .invoker
            .resolve(&scope, &ev.function_name, qualifier)
            .await
        {
            Ok(Some(r)) => r,
            Ok(None) => {
                tracing::warn!(function = %ev.function_name, request_id = %ev.request_id, "dropping an event of a function that no longer exists");
                let _ = store.delete_event(ev.id).await;
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot resolve an event's function");
                let _ = store
                    .reschedule_event(ev.id, ev.attempts, lambox_core::time::now_millis() + 1000)
                    .await;
                return;
            }
        };
        let config = store
            .event_invoke_config(&scope, &ev.function_name, &ev.qualifier)
            .await
            .ok()
            .flatten();
        let max_retries = config
            .as_ref()
            .and_then(|c| c.max_retry_attempts)
            .unwrap_or(DEFAULT_RETRIES);
        let max_age_ms = i64::from(
            config
                .as_ref()
                .and_then(|c| c.max_event_age_seconds)
                .unwrap_or(DEFAULT_MAX_AGE_SECONDS),
        ) * 1000;
        let on_success = config.as_ref().and_then(|c| c.on_success.clone());
        let on_failure = config.as_ref().and_then(|c| c.on_failure.clone());
        let arn = invoked_arn(&scope, &ev.function_name, Some(&ev.qualifier));
        let now = lambox_core::time::now_millis();
        if now - ev.created_ms > max_age_ms {
            self.destination(
                &scope,
                &ev,
                &arn,
                on_failure.as_deref(),
                "EventAgeExceeded",
                None,
            )
            .await;
            let _ = store.delete_event(ev.id).await;
            return;
        }
        let request = InvokeRequest {
            request_id: ev.request_id.clone(),
            payload: Bytes::from(ev.payload.clone()),
            client_context: None,
            tail: false,
            invoked_arn: invoked_arn(&scope, &ev.function_name, qualifier),
        };
        let outcome = self.inner.invoker.invoke(&resolved, &request).await;
        let attempts = ev.attempts + 1;
        match outcome {
            Ok(result) if !result.function_error => {
                tracing::debug!(function = %ev.function_name, request_id = %ev.request_id, "event delivered");
                ev.attempts = attempts;
                self.destination(
                    &scope,
                    &ev,
                    &arn,
                    on_success.as_deref(),
                    "Success",
                    Some(&result),
                )
                .await;
                let _ = store.delete_event(ev.id).await;
            }
            Err(
                InvokeError::ReservedConcurrency
                | InvokeError::Saturated
                | InvokeError::CapacityExhausted
                | InvokeError::ShuttingDown,
            ) => {
                // Throttles do not count as attempts; they are retried until the event is too old.
                let _ = store
                    .reschedule_event(ev.id, ev.attempts, now + self.backoff(1))
                    .await;
            }
            failed => {
                ev.attempts = attempts;
                if attempts > i64::from(max_retries) {
                    let result = failed.ok();
                    self.destination(
                        &scope,
                        &ev,
                        &arn,
                        on_failure.as_deref(),
                        "RetriesExhausted",
                        result.as_ref(),
                    )
                    .await;
                    let _ = store.delete_event(ev.id).await;
                } else {
                    let _ = store
                        .reschedule_event(ev.id, attempts, now + self.backoff(attempts))
                        .await;
                }
            }
        }
    }

    fn backoff(&self, attempts: i64) -> i64 {
        let factor = 1u32 << (attempts.clamp(1, 10) - 1);
        (self.inner.retry_base * factor).as_millis() as i64
    }

    /// Sends a record to a destination: a lambox function gets it as an asynchronous event;
    /// any other destination's record is kept for the admin API.
    async fn destination(
        &self,
        scope: &Scope,
        ev: &AsyncEvent,
        function_arn: &str,
        destination: Option<&str>,
        condition: &str,
        result: Option<&InvokeResult>,
    ) {
        let Some(destination) = destination else {
            return;
        };
        let record = destination_record(function_arn, ev, condition, result);
        let text = record.to_string();
        let store = &self.inner.store;
        if let Some((dest_scope, name, qualifier)) = lambda_destination(destination, scope) {
            // Checked again at delivery, whatever was stored: another account's function
            // receives a record only while its policy lets this account invoke it.
            let allowed = dest_scope.account == scope.account
                || self
                    .inner
                    .invoker
                    .may_invoke(&scope.account, &dest_scope, &name, qualifier.as_deref())
                    .await
                    .unwrap_or(false);
            if !allowed {
                tracing::warn!(function = %ev.function_name, destination, "refusing a destination in another account that does not allow it");
                return;
            }
            let request_id = uuid::Uuid::new_v4().to_string();
            let q = qualifier.unwrap_or_else(|| LATEST.to_owned());
            if let Err(e) = self
                .enqueue(&dest_scope, &name, &q, &request_id, text.as_bytes())
                .await
            {
                tracing::error!(error = %e, "cannot queue a destination record");
            }
            return;
        }
        let now = lambox_core::time::now_millis();
        if let Err(e) = store
            .add_destination_record(scope, &ev.function_name, destination, condition, &text, now)
            .await
        {
            tracing::error!(error = %e, "cannot store a destination record");
        }
    }
}

/// The scope, name and qualifier of a Lambda function destination ARN; a partial ARN names a
/// function of `source`'s account and region.
fn lambda_destination(arn: &str, source: &Scope) -> Option<(Scope, String, Option<String>)> {
    if !arn.contains(":lambda:") {
        return None;
    }
    let f = FunctionRef::parse(arn, NameShape::Plain).ok()?;
    Some((
        Scope {
            account: f.account.unwrap_or_else(|| source.account.clone()),
            region: f.region.unwrap_or_else(|| source.region.clone()),
        },
        f.name,
        f.qualifier,
    ))
}

/// The record Lambda sends to a destination.
pub fn destination_record(
    function_arn: &str,
    ev: &AsyncEvent,
    condition: &str,
    result: Option<&InvokeResult>,
) -> Value {
    let as_json = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
    };
    let mut response_context = json!({"statusCode": 200, "executedVersion": ev.qualifier});
    if let Some(r) = result {
        response_context["executedVersion"] = Value::from(r.executed_version.clone());
        if r.function_error {
            response_context["functionError"] = Value::from("Unhandled");
        }
    }
    let mut record = json!({
        "version": "1.0",
        "timestamp": lambox_core::time::format_timestamp(lambox_core::time::now_millis()).replace("+0000", "Z"),
        "requestContext": {
            "requestId": ev.request_id,
            "functionArn": function_arn,
            "condition": condition,
            "approximateInvokeCount": ev.attempts,
        },
        "requestPayload": as_json(&ev.payload),
        "responseContext": response_context,
    });
    if let Some(r) = result {
        record["responsePayload"] = as_json(&r.body);
    }
    record
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event() -> AsyncEvent {
        AsyncEvent {
            id: 1,
            request_id: "req".into(),
            account: "111111111111".into(),
            region: "us-east-1".into(),
            function_name: "f".into(),
            qualifier: "$LATEST".into(),
            payload: br#"{"k": 1}"#.to_vec(),
            attempts: 3,
            next_attempt_ms: 0,
            created_ms: 0,
        }
    }

    #[test]
    fn records_look_like_lambdas() {
        let result = InvokeResult {
            executed_version: "$LATEST".into(),
            body: Bytes::from_static(br#"{"errorMessage":"x","errorType":"E"}"#),
            function_error: true,
            log_tail: None,
            runtime_us: None,
        };
        let r = destination_record(
            "arn:aws:lambda:us-east-1:111111111111:function:f:$LATEST",
            &event(),
            "RetriesExhausted",
            Some(&result),
        );
        assert_eq!(r["version"], "1.0");
        assert_eq!(r["requestContext"]["condition"], "RetriesExhausted");
        assert_eq!(r["requestContext"]["approximateInvokeCount"], 3);
        assert_eq!(r["requestPayload"]["k"], 1);
        assert_eq!(r["responseContext"]["functionError"], "Unhandled");
        assert_eq!(r["responsePayload"]["errorType"], "E");
        assert!(r["timestamp"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn lambda_destinations_are_recognised() {
        let source = Scope {
            account: "111111111111".into(),
            region: "us-east-1".into(),
        };
        let (scope, name, q) = lambda_destination(
            "arn:aws:lambda:eu-west-1:222222222222:function:dest",
            &source,
        )
        .unwrap();
        assert_eq!(
            (
                scope.account.as_str(),
                scope.region.as_str(),
                name.as_str(),
                q
            ),
            ("222222222222", "eu-west-1", "dest", None)
        );
        let (scope, _, _) =
            lambda_destination("arn:aws:lambda:us-east-1:function:dest", &source).unwrap();
        assert_eq!(scope, source, "a partial ARN is of the source's account");
        assert!(lambda_destination("arn:aws:sqs:us-east-1:111111111111:q", &source).is_none());
    }
}
