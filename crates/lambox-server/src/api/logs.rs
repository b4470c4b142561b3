//! The CloudWatch Logs API (JSON 1.1, `X-Amz-Target: Logs_20140328.*`) over functions' logs:
//! DescribeLogGroups, DescribeLogStreams, GetLogEvents, FilterLogEvents, DeleteLogGroup. A
//! function's group is `/aws/lambda/<name>` (or its LoggingConfig.LogGroup) and exists once the
//! function has written a line; each sandbox is one stream.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use lambox_core::arn::partition;
use lambox_core::logfilter::FilterPattern;
use lambox_store::{EventQuery, LogEvent};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::Ctx;
use crate::error::ApiError;

/// Most events one GetLogEvents or FilterLogEvents answer carries (AWS: 10,000).
const MAX_EVENTS: u32 = 10_000;
/// Events FilterLogEvents reads per store query while it looks for matches.
const SCAN_CHUNK: u32 = 2_000;
/// Events FilterLogEvents looks at per call; beyond this it answers with a nextToken, as AWS's
/// does when its search takes long.
const SCAN_BUDGET: u32 = 200_000;

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::Logs {
        status: 400,
        code: "InvalidParameterException",
        message: message.into(),
    }
}

fn not_found(message: &str) -> ApiError {
    ApiError::Logs {
        status: 400,
        code: "ResourceNotFoundException",
        message: message.to_owned(),
    }
}

fn input<T: DeserializeOwned>(ctx: &Ctx<'_>) -> Result<T, ApiError> {
    let body: &[u8] = if ctx.body.is_empty() {
        b"{}"
    } else {
        &ctx.body
    };
    serde_json::from_slice(body).map_err(|e| ApiError::Logs {
        status: 400,
        code: "SerializationException",
        message: e.to_string(),
    })
}

fn answer(body: &impl Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-amz-json-1.1"),
        )],
        bytes,
    )
        .into_response()
}

fn token(key: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key)
}

fn untoken(t: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(t) = t.filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| invalid("The specified nextToken is invalid."))
}

fn limit(given: Option<i64>, max: u32) -> Result<u32, ApiError> {
    match given {
        None => Ok(max),
        Some(n) if n < 1 || n > i64::from(max) => Err(invalid(format!(
            "1 validation error detected: Value '{n}' at 'limit' failed to satisfy constraint: \
             Member must have value less than or equal to {max}"
        ))),
        Some(n) => Ok(u32::try_from(n).unwrap_or(max)),
    }
}

/// Runs one operation of the Logs API.
pub(super) async fn handle(ctx: &Ctx<'_>, target: &str) -> Result<Response, ApiError> {
    match target {
        "DescribeLogGroups" => describe_groups(ctx).await,
        "DescribeLogStreams" => describe_streams(ctx).await,
        "GetLogEvents" => get_events(ctx).await,
        "FilterLogEvents" => filter_events(ctx).await,
        "DeleteLogGroup" => delete_group(ctx).await,
        "PutRetentionPolicy" => put_retention(ctx).await,
        "DeleteRetentionPolicy" => delete_retention(ctx).await,
        other => Err(ApiError::Logs {
            status: 400,
            code: "UnknownOperationException",
            message: format!("lambox does not serve the CloudWatch Logs operation {other}"),
        }),
    }
}

fn group_arn(ctx: &Ctx<'_>, group: &str) -> String {
    format!(
        "arn:{}:logs:{}:{}:log-group:{group}",
        partition(&ctx.scope.region),
        ctx.scope.region,
        ctx.scope.account
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GroupsInput {
    log_group_name_prefix: Option<String>,
    limit: Option<i64>,
    next_token: Option<String>,
}

async fn describe_groups(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let i: GroupsInput = input(ctx)?;
    let limit = limit(i.limit, 50)?;
    let after = untoken(i.next_token.as_deref())?.unwrap_or_default();
    let (groups, more) = ctx
        .state
        .store
        .log_groups(
            &ctx.scope,
            i.log_group_name_prefix.as_deref().unwrap_or(""),
            &after,
            limit,
        )
        .await?;
    let next = more
        .then(|| groups.last().map(|g| token(&g.name)))
        .flatten();
    let items: Vec<_> = groups
        .iter()
        .map(|g| {
            let arn = group_arn(ctx, &g.name);
            let mut item = json!({"logGroupName": g.name, "creationTime": g.created_ms,
                   "metricFilterCount": 0, "arn": format!("{arn}:*"), "logGroupArn": arn,
                   "storedBytes": g.stored_bytes, "logGroupClass": "STANDARD"});
            if let Some(days) = g.retention_days {
                item["retentionInDays"] = json!(days);
            }
            item
        })
        .collect();
    let mut out = json!({"logGroups": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(answer(&out))
}

/// The group a request names by `logGroupName` or `logGroupIdentifier` (a name or an ARN).
fn group_name(name: Option<String>, identifier: Option<String>) -> Result<String, ApiError> {
    if let Some(n) = name {
        return Ok(n);
    }
    let id = identifier
        .ok_or_else(|| invalid("Either logGroupName or logGroupIdentifier is required"))?;
    Ok(match id.split_once(":log-group:") {
        Some((_, rest)) => rest.trim_end_matches(":*").to_owned(),
        None => id,
    })
}

async fn existing_group(ctx: &Ctx<'_>, group: &str) -> Result<(), ApiError> {
    if ctx.state.store.log_group_exists(&ctx.scope, group).await? {
        Ok(())
    } else {
        Err(not_found("The specified log group does not exist."))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StreamsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name_prefix: Option<String>,
    order_by: Option<String>,
    #[serde(default)]
    descending: bool,
    limit: Option<i64>,
    next_token: Option<String>,
}

async fn describe_streams(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let i: StreamsInput = input(ctx)?;
    let group = group_name(i.log_group_name, i.log_group_identifier)?;
    let limit = limit(i.limit, 50)?;
    existing_group(ctx, &group).await?;
    let by_time = match i.order_by.as_deref() {
        None | Some("LogStreamName") => false,
        Some("LastEventTime") => {
            if i.log_stream_name_prefix.is_some() {
                return Err(invalid(
                    "Cannot order by LastEventTime with a logStreamNamePrefix.",
                ));
            }
            true
        }
        Some(other) => {
            return Err(invalid(format!(
                "1 validation error detected: Value '{other}' at 'orderBy' failed to satisfy \
                 constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]"
            )));
        }
    };
    let prefix = i.log_stream_name_prefix.unwrap_or_default();
    let store = &ctx.state.store;
    // Streams by name come a page at a time; ordered by time (or descending), all of the
    // group's (one per sandbox that wrote, bounded by the events kept) are sorted here.
    let (mut streams, next) = if !by_time && !i.descending {
        let after = untoken(i.next_token.as_deref())?.unwrap_or_default();
        let (page, more) = store
            .log_streams(&ctx.scope, &group, &prefix, &after, limit)
            .await?;
        let next = more.then(|| page.last().map(|s| token(&s.name))).flatten();
        (page, next)
    } else {
        let (mut all, _) = store
            .log_streams(&ctx.scope, &group, &prefix, "", 100_000)
            .await?;
        if by_time {
            all.sort_by_key(|s| (s.last_ms, s.name.clone()));
        }
        if i.descending {
            all.reverse();
        }
        let skip: usize = untoken(i.next_token.as_deref())?.map_or(Ok(0), |s| {
            s.parse()
                .map_err(|_| invalid("The specified nextToken is invalid."))
        })?;
        let end = (skip + limit as usize).min(all.len());
        let next = (end < all.len()).then(|| token(&end.to_string()));
        (all.drain(skip.min(end)..end).collect(), next)
    };
    let arn = group_arn(ctx, &group);
    let items: Vec<_> = streams
        .drain(..)
        .map(|s| {
            json!({"logStreamName": s.name, "creationTime": s.first_ms,
                   "firstEventTimestamp": s.first_ms, "lastEventTimestamp": s.last_ms,
                   "lastIngestionTime": s.last_ms, "uploadSequenceToken": "1",
                   "arn": format!("{arn}:log-stream:{}", s.name), "storedBytes": s.stored_bytes})
        })
        .collect();
    let mut out = json!({"logStreams": items});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(answer(&out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventsInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_name: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    limit: Option<i64>,
    #[serde(default)]
    start_from_head: bool,
    next_token: Option<String>,
}

fn event_out(e: &LogEvent) -> serde_json::Value {
    json!({"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.timestamp_ms})
}

async fn get_events(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let i: EventsInput = input(ctx)?;
    let group = group_name(i.log_group_name, i.log_group_identifier)?;
    let stream = i
        .log_stream_name
        .ok_or_else(|| invalid("logStreamName is required"))?;
    let limit = limit(i.limit, MAX_EVENTS)?;
    existing_group(ctx, &group).await?;
    let store = &ctx.state.store;
    let base = EventQuery {
        stream: Some(&stream),
        start_ms: i.start_time,
        end_ms: i.end_time,
        ..EventQuery::default()
    };
    let (exists, _) = store.log_events(&ctx.scope, &group, &base, 1).await?;
    if exists.is_empty() && i.start_time.is_none() && i.end_time.is_none() {
        let (any, _) = store
            .log_events(
                &ctx.scope,
                &group,
                &EventQuery {
                    stream: Some(&stream),
                    ..EventQuery::default()
                },
                1,
            )
            .await?;
        if any.is_empty() {
            return Err(not_found("The specified log stream does not exist."));
        }
    }
    // Tokens: `f/<id>` reads on after an event, `b/<id>` back before one.
    let given = i.next_token.as_deref().filter(|t| !t.is_empty());
    let (forward, from) = match given {
        Some(t) => match t.split_once('/') {
            Some(("f", id)) => (true, id.parse::<i64>().ok()),
            Some(("b", id)) => (false, id.parse::<i64>().ok()),
            _ => (true, None),
        },
        None => (i.start_from_head, None),
    };
    if given.is_some() && from.is_none() {
        return Err(invalid("The specified nextToken is invalid."));
    }
    let q = if forward {
        EventQuery {
            after_id: from.unwrap_or(0),
            ..base.clone()
        }
    } else {
        EventQuery {
            before_id: from,
            newest_first: true,
            ..base.clone()
        }
    };
    let (mut events, _) = store.log_events(&ctx.scope, &group, &q, limit).await?;
    if !forward {
        events.reverse();
    }
    let first = events.first().map(|e| e.id);
    let last = events.last().map(|e| e.id);
    let forward_token = match (last, from) {
        (Some(id), _) => format!("f/{id}"),
        (None, Some(id)) if forward => format!("f/{id}"),
        (None, _) => format!("f/{}", i64::MAX / 2),
    };
    let backward_token = match (first, from) {
        (Some(id), _) => format!("b/{id}"),
        (None, Some(id)) if !forward => format!("b/{id}"),
        (None, _) => "b/0".to_owned(),
    };
    Ok(answer(&json!({
        "events": events.iter().map(event_out).collect::<Vec<_>>(),
        "nextForwardToken": forward_token,
        "nextBackwardToken": backward_token,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FilterInput {
    log_group_name: Option<String>,
    log_group_identifier: Option<String>,
    log_stream_names: Option<Vec<String>>,
    log_stream_name_prefix: Option<String>,
    start_time: Option<i64>,
    end_time: Option<i64>,
    filter_pattern: Option<String>,
    limit: Option<i64>,
    next_token: Option<String>,
}

async fn filter_events(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let i: FilterInput = input(ctx)?;
    let group = group_name(i.log_group_name, i.log_group_identifier)?;
    let limit = limit(i.limit, MAX_EVENTS)?;
    if i.log_stream_names.is_some() && i.log_stream_name_prefix.is_some() {
        return Err(invalid(
            "logStreamNames and logStreamNamePrefix are mutually exclusive",
        ));
    }
    let pattern = FilterPattern::parse(i.filter_pattern.as_deref().unwrap_or(""))
        .map_err(|e| invalid(format!("Invalid filter pattern: {e}")))?;
    existing_group(ctx, &group).await?;
    let streams = i.log_stream_names.unwrap_or_default();
    let one_stream = (streams.len() == 1).then(|| streams[0].as_str());
    let mut after: i64 = match untoken(i.next_token.as_deref())? {
        Some(t) => t
            .parse()
            .map_err(|_| invalid("The specified nextToken is invalid."))?,
        None => 0,
    };
    let mut matched = Vec::new();
    let mut scanned = 0u32;
    let mut exhausted = false;
    while matched.len() < limit as usize && scanned < SCAN_BUDGET {
        let q = EventQuery {
            stream: one_stream,
            stream_prefix: i.log_stream_name_prefix.as_deref(),
            start_ms: i.start_time,
            end_ms: i.end_time,
            contains: pattern.required_term(),
            after_id: after,
            ..EventQuery::default()
        };
        let (chunk, more) = ctx
            .state
            .store
            .log_events(&ctx.scope, &group, &q, SCAN_CHUNK)
            .await?;
        scanned += chunk.len() as u32;
        for e in chunk {
            after = e.id;
            if (streams.is_empty() || streams.contains(&e.stream)) && pattern.matches(&e.message) {
                matched.push(e);
                if matched.len() == limit as usize {
                    break;
                }
            }
        }
        if !more {
            exhausted = true;
            break;
        }
    }
    let next = (!exhausted || matched.len() == limit as usize).then(|| token(&after.to_string()));
    let events: Vec<_> = matched
        .iter()
        .map(|e| {
            json!({"logStreamName": e.stream, "timestamp": e.timestamp_ms, "message": e.message,
                   "ingestionTime": e.timestamp_ms, "eventId": e.id.to_string()})
        })
        .collect();
    let mut out = json!({"events": events, "searchedLogStreams": []});
    if let Some(n) = next {
        out["nextToken"] = json!(n);
    }
    Ok(answer(&out))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeleteGroupInput {
    log_group_name: Option<String>,
}

async fn delete_group(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let i: DeleteGroupInput = input(ctx)?;
    let group = i
        .log_group_name
        .ok_or_else(|| invalid("logGroupName is required"))?;
    if !ctx.state.store.delete_log_group(&ctx.scope, &group).await? {
        return Err(not_found("The specified log group does not exist."));
    }
    Ok(answer(&json!({})))
}

/// The retentions CloudWatch Logs accepts, in days.
const RETENTION_DAYS: [i64; 22] = [
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
    3288, 3653,
];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RetentionInput {
    log_group_name: Option<String>,
    retention_in_days: Option<i64>,
}

/// PutRetentionPolicy: lambox deletes the group's events older than this within a minute.
async fn put_retention(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let i: RetentionInput = input(ctx)?;
    let group = i
        .log_group_name
        .ok_or_else(|| invalid("logGroupName is required"))?;
    let days = i
        .retention_in_days
        .ok_or_else(|| invalid("retentionInDays is required"))?;
    if !RETENTION_DAYS.contains(&days) {
        let allowed: Vec<String> = RETENTION_DAYS.iter().map(i64::to_string).collect();
        return Err(invalid(format!(
            "1 validation error detected: Value '{days}' at 'retentionInDays' failed to satisfy \
             constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )));
    }
    if !ctx
        .state
        .store
        .set_log_retention(&ctx.scope, &group, Some(days))
        .await?
    {
        return Err(not_found("The specified log group does not exist."));
    }
    Ok(answer(&json!({})))
}

/// DeleteRetentionPolicy: the group's events are kept again (within lambox's bound).
async fn delete_retention(ctx: &Ctx<'_>) -> Result<Response, ApiError> {
    let i: DeleteGroupInput = input(ctx)?;
    let group = i
        .log_group_name
        .ok_or_else(|| invalid("logGroupName is required"))?;
    if !ctx
        .state
        .store
        .set_log_retention(&ctx.scope, &group, None)
        .await?
    {
        return Err(not_found("The specified log group does not exist."));
    }
    Ok(answer(&json!({})))
}
