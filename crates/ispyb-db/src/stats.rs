//! Statistics of sessions and runs (`/stats/*`): what happened when (breakdown), where the
//! time went (times), failures by experiment type (errors), activity by hour of day
//! (hourlies), energy histograms and the list of runs.
//!
//! A run is a row of `v_run` (a table of the `dls` flavour; the `ispyb` flavour has none, so
//! run statistics are refused there with "Run not found" and the run list is empty). Every
//! statement is filtered by the caller's [`Access`]; each route costs a fixed number of them.

use std::collections::BTreeMap;

use sqlx::{FromRow, MySql, QueryBuilder};

use crate::meta::Flavour;
use crate::types::DateTime;
use crate::{Access, Db, Page, Paged};

/// What the statistics are about.
#[derive(Debug, Clone, Default)]
pub struct StatsFilter {
    /// One session (a name is resolved to its id first; an unknown name matches nothing).
    pub session_id: Option<u32>,
    /// Beamline.
    pub beam_line_name: Option<String>,
    /// Sessions starting within this run (`v_run.runId`).
    pub run_id: Option<i64>,
    /// Proposal name (`MX1`).
    pub proposal: Option<String>,
}

/// Whether the database has runs (`v_run`).
pub fn has_runs(db: &Db) -> bool {
    db.flavour() == Flavour::Dls
}

/// The id of a session by name, if the caller may see it.
pub async fn session_id_by_name(db: &Db, access: &Access, name: &str) -> crate::Result<Option<u32>> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT s.sessionId FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId
         WHERE CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) = ",
    );
    q.push_bind(name.to_string());
    access.push_filter(&mut q, "p.proposalId", "s");
    q.push(" LIMIT 1");
    Ok(q.build_query_scalar().fetch_optional(db.pool()).await?)
}

/// Restricts a statement whose session alias is `s` and proposal alias `p`.
fn push_filter(q: &mut QueryBuilder<MySql>, access: &Access, f: &StatsFilter) {
    if let Some(id) = f.session_id {
        q.push(" AND s.sessionId = ").push_bind(id);
    }
    if let Some(bl) = &f.beam_line_name {
        q.push(" AND s.beamLineName = ").push_bind(bl.clone());
    }
    if let Some(run) = f.run_id {
        q.push(" AND EXISTS (SELECT 1 FROM v_run vr WHERE vr.runId = ")
            .push_bind(run)
            .push(" AND s.startDate BETWEEN vr.startDate AND vr.endDate)");
    }
    if let Some(p) = &f.proposal {
        q.push(" AND CONCAT(p.proposalCode, p.proposalNumber) = ").push_bind(p.clone());
    }
    access.push_filter(q, "p.proposalId", "s");
}

/// Overview of one session or one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = BreakdownOverview)]
pub struct Overview {
    /// Start.
    #[serde(rename = "startDate")]
    #[schema(value_type = Option<String>)]
    pub start_date: DateTime,
    /// End.
    #[serde(rename = "endDate")]
    #[schema(value_type = Option<String>)]
    pub end_date: DateTime,
    /// Hours.
    pub duration: Option<f64>,
    /// Beamline (session).
    #[serde(rename = "beamLineName", skip_serializing_if = "Option::is_none")]
    pub beam_line_name: Option<String>,
    /// Session id, as a string as py-ISPyB serves it (session).
    #[serde(rename = "sessionId", skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// Session name (session).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session: Option<String>,
    /// Run name (run).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// Counts.
    pub counts: Counts,
}

/// Counts of a breakdown.
#[derive(Debug, Clone, PartialEq, Default, serde::Serialize, utoipa::ToSchema)]
#[schema(as = BreakdownCounts)]
pub struct Counts {
    /// Data collections.
    pub datacollections: i64,
    /// Always 0 (as py-ISPyB).
    pub failed: i64,
    /// Data collections by experiment type (`"null"` for none).
    #[serde(rename = "datacollectionTypes")]
    pub datacollection_types: BTreeMap<String, i64>,
    /// Robot actions.
    pub robot: i64,
    /// Energy scans.
    pub edge: i64,
    /// XRF spectra.
    pub xrf: i64,
}

/// One span of the history.
#[derive(Debug, Clone, PartialEq, Default, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct BreakdownPoint {
    /// `dc`, `robot`, `edge`, `xrf`, `centring`, `strategy` or `session`.
    #[serde(rename = "eventType")]
    #[sqlx(rename = "eventType")]
    pub event_type: String,
    /// Start.
    #[serde(rename = "startTime")]
    #[sqlx(rename = "startTime")]
    #[schema(value_type = Option<String>)]
    pub start_time: DateTime,
    /// End.
    #[serde(rename = "endTime")]
    #[sqlx(rename = "endTime")]
    #[schema(value_type = Option<String>)]
    pub end_time: DateTime,
    /// Protein name.
    pub protein: Option<String>,
    /// Sample name.
    pub sample: Option<String>,
    /// Experiment type or robot action.
    #[serde(rename = "subType")]
    #[sqlx(rename = "subType")]
    pub sub_type: Option<String>,
    /// Run status.
    pub status: Option<String>,
    /// Proposal title (sessions of a run).
    pub title: Option<String>,
    /// Session name (sessions of a run).
    pub session: Option<String>,
    /// Session id (sessions of a run).
    #[serde(rename = "sessionId")]
    #[sqlx(rename = "sessionId")]
    pub session_id: Option<String>,
}

/// One series of the plots.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = BreakdownSeries)]
pub struct Series {
    /// `energy`, `beamSizeAtSampleX`, …
    pub title: String,
    /// Always null.
    pub unit: Option<String>,
    /// One value per data collection.
    pub data: Vec<Option<f64>>,
}

/// Plot data: one point per data collection.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = BreakdownPlottables)]
pub struct Plottables {
    /// Start of each data collection.
    #[schema(value_type = Vec<Option<String>>)]
    pub time: Vec<DateTime>,
    /// Series.
    pub series: Vec<Series>,
}

/// `GET /stats/breakdown`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Breakdown {
    /// The session or run.
    pub overview: Overview,
    /// Everything that happened, by kind.
    pub history: Vec<BreakdownPoint>,
    /// Parameters of the data collections.
    pub plottables: Plottables,
}

#[derive(FromRow)]
struct DcRow {
    #[sqlx(rename = "startTime")]
    start_time: DateTime,
    #[sqlx(rename = "endTime")]
    end_time: DateTime,
    status: Option<String>,
    #[sqlx(rename = "subType")]
    sub_type: Option<String>,
    sample: Option<String>,
    protein: Option<String>,
    wavelength: Option<f64>,
    bx: Option<f64>,
    by: Option<f64>,
    chi: Option<f64>,
    phi: Option<f64>,
    kappa: Option<f64>,
}

/// Energy in eV of a wavelength in Å, rounded.
pub fn to_energy(wavelength: f64) -> f64 {
    (1.98644568e-25 / (wavelength * 1e-10) / 1.60217646e-19).round()
}

const SAMPLE_JOINS: &str =
    " LEFT JOIN Crystal cr ON cr.crystalId = bls.crystalId LEFT JOIN Protein pr ON pr.proteinId = cr.proteinId";

/// The breakdown of a visible session (`session_id`) or run (`run_id`); `None` when it does
/// not exist or is not visible.
pub async fn breakdown(db: &Db, access: &Access, f: &StatsFilter) -> crate::Result<Option<Breakdown>> {
    let mut overview = if let Some(id) = f.session_id {
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT s.startDate, s.endDate, CAST(TIMESTAMPDIFF(SECOND, s.startDate, s.endDate) / 3600 AS DOUBLE),
               s.beamLineName, CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number)
             FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId WHERE s.sessionId = ",
        );
        q.push_bind(id);
        access.push_filter(&mut q, "p.proposalId", "s");
        type SessionRow = (DateTime, DateTime, Option<f64>, Option<String>, Option<String>);
        let row: Option<SessionRow> = q.build_query_as().fetch_optional(db.pool()).await?;
        let Some((start_date, end_date, duration, beam_line_name, session)) = row else { return Ok(None) };
        Overview {
            start_date,
            end_date,
            duration,
            beam_line_name,
            session_id: Some(id.to_string()),
            session,
            run: None,
            counts: Counts::default(),
        }
    } else if let Some(run) = f.run_id {
        if !has_runs(db) {
            return Ok(None);
        }
        let row: Option<(DateTime, DateTime, Option<f64>, Option<String>)> = sqlx::query_as(
            "SELECT vr.startDate, vr.endDate, CAST(TIMESTAMPDIFF(SECOND, vr.startDate, vr.endDate) / 3600 AS DOUBLE), vr.run
             FROM v_run vr WHERE vr.runId = ?",
        )
        .bind(run)
        .fetch_optional(db.pool())
        .await?;
        let Some((start_date, end_date, duration, run)) = row else { return Ok(None) };
        Overview {
            start_date,
            end_date,
            duration,
            beam_line_name: None,
            session_id: None,
            session: None,
            run,
            counts: Counts::default(),
        }
    } else {
        return Ok(None);
    };

    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT dc.startTime AS startTime, dc.endTime AS endTime, dc.runStatus AS status, dcg.experimentType AS subType,
           bls.name AS sample, pr.name AS protein, CAST(dc.wavelength AS DOUBLE) AS wavelength,
           CAST(dc.beamSizeAtSampleX AS DOUBLE) AS bx, CAST(dc.beamSizeAtSampleY AS DOUBLE) AS `by`,
           CAST(dc.chiStart AS DOUBLE) AS chi, CAST(dc.phiStart AS DOUBLE) AS phi, CAST(dc.kappaStart AS DOUBLE) AS kappa
         FROM DataCollection dc
         JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId
         LEFT JOIN BLSample bls ON bls.blSampleId = dcg.blSampleId{SAMPLE_JOINS}
         WHERE dc.startTime IS NOT NULL AND dc.endTime IS NOT NULL"
    ));
    push_filter(&mut q, access, f);
    q.push(" ORDER BY dc.startTime, dc.dataCollectionId");
    let dcs: Vec<DcRow> = q.build_query_as().fetch_all(db.pool()).await?;

    let mut history: Vec<BreakdownPoint> = dcs
        .iter()
        .map(|d| BreakdownPoint {
            event_type: "dc".into(),
            start_time: d.start_time,
            end_time: d.end_time,
            protein: d.protein.clone(),
            sample: d.sample.clone(),
            sub_type: d.sub_type.clone(),
            status: d.status.clone(),
            ..Default::default()
        })
        .collect();
    let mut counts = Counts { datacollections: dcs.len() as i64, ..Default::default() };
    for d in &dcs {
        *counts.datacollection_types.entry(d.sub_type.clone().unwrap_or_else(|| "null".into())).or_default() += 1;
    }

    // Robot actions, energy scans and XRF spectra: one statement.
    let mut q = QueryBuilder::<MySql>::new("SELECT * FROM (");
    for (i, (kind, table, start, end, session, sample, sub, status)) in [
        (
            "robot",
            "RobotAction",
            "x.startTimestamp",
            "x.endTimestamp",
            "x.blsessionId",
            "x.blsampleId",
            "x.actionType",
            "x.status",
        ),
        ("edge", "EnergyScan", "x.startTime", "x.endTime", "x.sessionId", "x.blSampleId", "NULL", "NULL"),
        ("xrf", "XFEFluorescenceSpectrum", "x.startTime", "x.endTime", "x.sessionId", "x.blSampleId", "NULL", "NULL"),
    ]
    .into_iter()
    .enumerate()
    {
        if i > 0 {
            q.push(" UNION ALL ");
        }
        q.push(format_args!(
            "SELECT '{kind}' AS eventType, {start} AS startTime, {end} AS endTime, pr.name AS protein, bls.name AS sample,
               CAST({sub} AS CHAR) AS subType, CAST({status} AS CHAR) AS status, CAST(NULL AS CHAR) AS title,
               CAST(NULL AS CHAR) AS session, CAST(NULL AS CHAR) AS sessionId
             FROM {table} x JOIN BLSession s ON s.sessionId = {session} JOIN Proposal p ON p.proposalId = s.proposalId
             LEFT JOIN BLSample bls ON bls.blSampleId = {sample}{SAMPLE_JOINS} WHERE 1"
        ));
        push_filter(&mut q, access, f);
    }
    q.push(") t ORDER BY t.endTime");
    let others: Vec<BreakdownPoint> = q.build_query_as().fetch_all(db.pool()).await?;
    for o in &others {
        match o.event_type.as_str() {
            "robot" => counts.robot += 1,
            "edge" => counts.edge += 1,
            _ => counts.xrf += 1,
        }
    }
    history.extend(others.into_iter().filter(|o| o.end_time.0.is_some()));

    if f.session_id.is_some() {
        // Strategy: from the end of a characterisation to its last screening result; centring:
        // from a sample load to the first data collection on that sample (under 1000 s).
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT 'strategy' AS eventType, t.startTime, t.endTime, NULL AS protein, NULL AS sample, NULL AS subType,
               NULL AS status, NULL AS title, NULL AS session, NULL AS sessionId FROM (
               SELECT dc.endTime AS startTime, MAX(sc.bltimeStamp) AS endTime FROM DataCollection dc
               JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
               JOIN Screening sc ON sc.dataCollectionId = dc.dataCollectionId OR sc.dataCollectionGroupId = dc.dataCollectionGroupId
               JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1",
        );
        push_filter(&mut q, access, f);
        q.push(
            " GROUP BY dc.dataCollectionId) t
             UNION ALL SELECT 'centring', c.startTime, c.endTime, NULL, NULL, NULL, NULL, NULL, NULL, NULL FROM (
               SELECT ra.endTimestamp AS startTime, MIN(dc.startTime) AS endTime FROM RobotAction ra
               JOIN DataCollectionGroup dcg ON dcg.blSampleId = ra.blsampleId
               JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId AND ra.endTimestamp < dc.startTime
               JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1",
        );
        push_filter(&mut q, access, f);
        q.push(
            " GROUP BY ra.endTimestamp) c WHERE TIMESTAMPDIFF(SECOND, c.startTime, c.endTime) < 1000
             ORDER BY 3",
        );
        let rows: Vec<BreakdownPoint> = q.build_query_as().fetch_all(db.pool()).await?;
        history.extend(rows.into_iter().filter(|o| o.end_time.0.is_some()));
    } else {
        let mut q = QueryBuilder::<MySql>::new(
            "SELECT 'session' AS eventType, s.startDate AS startTime, s.endDate AS endTime, NULL AS protein, NULL AS sample,
               NULL AS subType, NULL AS status, p.title AS title,
               CONCAT(p.proposalCode, p.proposalNumber, '-', s.visit_number) AS session, CAST(s.sessionId AS CHAR) AS sessionId
             FROM BLSession s JOIN Proposal p ON p.proposalId = s.proposalId WHERE s.scheduled = 1",
        );
        push_filter(&mut q, access, f);
        q.push(" ORDER BY s.startDate");
        history.extend(q.build_query_as::<BreakdownPoint>().fetch_all(db.pool()).await?);
    }

    let series = |title: &str, get: &dyn Fn(&DcRow) -> Option<f64>| Series {
        title: title.into(),
        unit: None,
        data: dcs.iter().map(get).collect(),
    };
    let plottables = Plottables {
        time: dcs.iter().map(|d| d.start_time).collect(),
        series: vec![
            series("energy", &|d| d.wavelength.filter(|w| *w > 0.0).map(to_energy)),
            series("beamSizeAtSampleX", &|d| d.bx),
            series("beamSizeAtSampleY", &|d| d.by),
            series("chiStart", &|d| d.chi),
            series("phiStart", &|d| d.phi),
            series("kappaStart", &|d| d.kappa),
        ],
    };
    overview.counts = counts;
    Ok(Some(Breakdown { overview, history, plottables }))
}

/// Hours spent on each kind of activity.
#[derive(Debug, Clone, PartialEq, Default, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct TimeEntry {
    /// Length of the session.
    pub duration: f64,
    /// From the session start to the first data collection.
    pub startup: f64,
    /// Collecting.
    pub datacollection: f64,
    /// Energy scans.
    pub edge: f64,
    /// XRF spectra.
    pub xrf: f64,
    /// Robot actions.
    pub robot: f64,
    /// Waiting for strategies.
    pub strategy: f64,
    /// Centring after a sample load.
    pub centring: f64,
    /// Beam time lost to faults (not recorded: 0).
    pub fault: f64,
    /// From the last data collection to the session end.
    pub remaining: f64,
    /// The rest.
    pub thinking: f64,
}

/// Times of one session.
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct SessionTimeEntry {
    /// Hours.
    #[sqlx(flatten)]
    #[serde(flatten)]
    pub times: TimeEntry,
    /// The session.
    #[serde(rename = "sessionId")]
    #[sqlx(rename = "sessionId")]
    pub session_id: u32,
}

/// `GET /stats/times`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Times {
    /// Mean of the sessions.
    pub average: TimeEntry,
    /// Each session with at least one data collection, latest first.
    pub sessions: Vec<SessionTimeEntry>,
}

/// Where the time of the visible sessions chosen by the filter went; three statements.
pub async fn times(db: &Db, access: &Access, f: &StatsFilter) -> crate::Result<Times> {
    let h = |expr: &str| format!("CAST(COALESCE({expr}, 0) / 3600 AS DOUBLE)");
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT t.sessionId, {duration} AS duration, {startup} AS startup, {dc} AS datacollection,
           {edge} AS edge, {xrf} AS xrf, {robot} AS robot, {strategy} AS strategy, {centring} AS centring,
           CAST(0 AS DOUBLE) AS fault, {remaining} AS remaining, CAST(0 AS DOUBLE) AS thinking
         FROM (SELECT s.sessionId, s.startDate, s.endDate, MIN(dc.startTime) AS first, MAX(dc.endTime) AS last,
                 SUM(TIMESTAMPDIFF(SECOND, dc.startTime, dc.endTime)) AS dc
               FROM DataCollection dc JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
               JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1",
        duration = h("TIMESTAMPDIFF(SECOND, t.startDate, t.endDate)"),
        startup = h("GREATEST(TIMESTAMPDIFF(SECOND, t.startDate, t.first), 0)"),
        dc = h("t.dc"),
        edge = h("(SELECT SUM(TIMESTAMPDIFF(SECOND, e.startTime, e.endTime)) FROM EnergyScan e WHERE e.sessionId = t.sessionId)"),
        xrf = h("(SELECT SUM(TIMESTAMPDIFF(SECOND, x.startTime, x.endTime)) FROM XFEFluorescenceSpectrum x WHERE x.sessionId = t.sessionId)"),
        robot = h("(SELECT SUM(TIMESTAMPDIFF(SECOND, r.startTimestamp, r.endTimestamp)) FROM RobotAction r WHERE r.blsessionId = t.sessionId)"),
        strategy = "CAST(0 AS DOUBLE)",
        centring = "CAST(0 AS DOUBLE)",
        remaining = h("GREATEST(TIMESTAMPDIFF(SECOND, t.last, t.endDate), 0)"),
    ));
    push_filter(&mut q, access, f);
    q.push(" GROUP BY s.sessionId) t ORDER BY t.startDate DESC, t.sessionId DESC");
    let mut sessions: Vec<SessionTimeEntry> = q.build_query_as().fetch_all(db.pool()).await?;

    // Strategy: from the end of a characterisation to its last screening result.
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT st.sessionId, CAST(SUM(GREATEST(TIMESTAMPDIFF(SECOND, st.endTime, st.last), 0)) / 3600 AS DOUBLE) FROM (
           SELECT s.sessionId, dc.endTime, MAX(sc.bltimeStamp) AS last FROM DataCollection dc
           JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
           JOIN Screening sc ON sc.dataCollectionId = dc.dataCollectionId OR sc.dataCollectionGroupId = dc.dataCollectionGroupId
           JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1",
    );
    push_filter(&mut q, access, f);
    q.push(" GROUP BY dc.dataCollectionId) st GROUP BY st.sessionId");
    let strategy: BTreeMap<u32, Option<f64>> = q.build_query_as().fetch_all(db.pool()).await?.into_iter().collect();
    // Centring: from a sample load to the first data collection on the sample (under 15 minutes).
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT ce.sessionId, CAST(SUM(ce.secs) / 3600 AS DOUBLE) FROM (
           SELECT s.sessionId, TIMESTAMPDIFF(SECOND, ra.endTimestamp, MIN(dc.startTime)) AS secs FROM RobotAction ra
           JOIN DataCollectionGroup dcg ON dcg.blSampleId = ra.blsampleId AND dcg.sessionId = ra.blsessionId
           JOIN DataCollection dc ON dc.dataCollectionGroupId = dcg.dataCollectionGroupId AND ra.endTimestamp < dc.startTime
           JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId WHERE 1",
    );
    push_filter(&mut q, access, f);
    q.push(" GROUP BY ra.robotActionId) ce WHERE ce.secs < 900 GROUP BY ce.sessionId");
    let centring: BTreeMap<u32, Option<f64>> = q.build_query_as().fetch_all(db.pool()).await?.into_iter().collect();

    let mut average = TimeEntry::default();
    for s in &mut sessions {
        s.times.strategy = strategy.get(&s.session_id).copied().flatten().unwrap_or(0.0);
        s.times.centring = centring.get(&s.session_id).copied().flatten().unwrap_or(0.0);
        let t = &mut s.times;
        let used =
            t.startup + t.datacollection + t.edge + t.xrf + t.robot + t.strategy + t.centring + t.fault + t.remaining;
        t.thinking = (t.duration - used).max(0.0);
    }
    if !sessions.is_empty() {
        let n = sessions.len() as f64;
        let mean = |g: &dyn Fn(&TimeEntry) -> f64| sessions.iter().map(|s| g(&s.times)).sum::<f64>() / n;
        average = TimeEntry {
            duration: mean(&|t| t.duration),
            startup: mean(&|t| t.startup),
            datacollection: mean(&|t| t.datacollection),
            edge: mean(&|t| t.edge),
            xrf: mean(&|t| t.xrf),
            robot: mean(&|t| t.robot),
            strategy: mean(&|t| t.strategy),
            centring: mean(&|t| t.centring),
            fault: mean(&|t| t.fault),
            remaining: mean(&|t| t.remaining),
            thinking: mean(&|t| t.thinking),
        };
    }
    Ok(Times { average, sessions })
}

/// A failed or aborted data collection with its error log, if any.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct FailedCollection {
    /// Experiment type of its group.
    #[sqlx(rename = "experimentType")]
    pub experiment_type: Option<String>,
    /// Run status.
    #[sqlx(rename = "runStatus")]
    pub run_status: Option<String>,
    /// A `log` attachment whose path contains `err`.
    #[sqlx(rename = "logFile")]
    pub log_file: Option<String>,
}

/// Data collections by experiment type, and the failed ones; two statements.
pub async fn errors(
    db: &Db,
    access: &Access,
    f: &StatsFilter,
) -> crate::Result<(Vec<(Option<String>, i64)>, Vec<FailedCollection>)> {
    const FROM: &str =
        " FROM DataCollection dc JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId";
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT dcg.experimentType, COUNT(DISTINCT dc.dataCollectionId){FROM} WHERE 1"
    ));
    push_filter(&mut q, access, f);
    q.push(" GROUP BY dcg.experimentType ORDER BY dcg.experimentType");
    let totals: Vec<(Option<String>, i64)> = q.build_query_as().fetch_all(db.pool()).await?;
    let mut q = QueryBuilder::<MySql>::new(format!(
        "SELECT dcg.experimentType AS experimentType, dc.runStatus AS runStatus,
           (SELECT a.fileFullPath FROM DataCollectionFileAttachment a WHERE a.dataCollectionId = dc.dataCollectionId
              AND a.fileType = 'log' AND a.fileFullPath LIKE '%err%' ORDER BY a.dataCollectionFileAttachmentId LIMIT 1) AS logFile
         {FROM} WHERE dc.runStatus NOT LIKE '%success%'"
    ));
    push_filter(&mut q, access, f);
    q.push(" ORDER BY dc.dataCollectionId LIMIT 10000");
    let failed = q.build_query_as().fetch_all(db.pool()).await?;
    Ok((totals, failed))
}

/// Average count per hour of day.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
#[schema(as = Hourly)]
pub struct Hourly {
    /// 0 to 23.
    pub hour: Vec<u32>,
    /// Mean count in that hour over the days with any.
    pub average: Vec<f64>,
}

/// `GET /stats/hourlies`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct Hourlies {
    /// Data collection starts.
    pub datacollections: Hourly,
    /// Sample loads.
    pub loaded: Hourly,
}

/// Data collections and sample loads by hour of day; one statement.
pub async fn hourlies(db: &Db, access: &Access, f: &StatsFilter) -> crate::Result<Hourlies> {
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT k, h, CAST(AVG(n) AS DOUBLE) FROM (
           SELECT 0 AS k, HOUR(dc.startTime) AS h, DATE(dc.startTime) AS d, COUNT(DISTINCT dc.dataCollectionId) AS n
           FROM DataCollection dc JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
           JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId
           WHERE dc.startTime IS NOT NULL",
    );
    push_filter(&mut q, access, f);
    q.push(
        " GROUP BY d, h UNION ALL
           SELECT 1, HOUR(ra.startTimestamp), DATE(ra.startTimestamp), COUNT(DISTINCT ra.robotActionId)
           FROM RobotAction ra JOIN BLSession s ON s.sessionId = ra.blsessionId JOIN Proposal p ON p.proposalId = s.proposalId
           WHERE ra.actionType = 'LOAD' AND ra.startTimestamp IS NOT NULL",
    );
    push_filter(&mut q, access, f);
    q.push(" GROUP BY 3, 2) t GROUP BY k, h");
    let rows: Vec<(i64, Option<i64>, Option<f64>)> = q.build_query_as().fetch_all(db.pool()).await?;
    let hourly = |k: i64| {
        let mut average = vec![0.0; 24];
        for (kk, h, avg) in &rows {
            if *kk == k
                && let Some(h) = h.and_then(|h| usize::try_from(h).ok()).filter(|h| *h < 24)
            {
                average[h] = avg.unwrap_or(0.0);
            }
        }
        Hourly { hour: (0..24).collect(), average }
    };
    Ok(Hourlies { datacollections: hourly(0), loaded: hourly(1) })
}

/// Histogram of one beamline.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ParameterHistogram {
    /// Beamline.
    #[serde(rename = "beamLineName")]
    pub beam_line_name: String,
    /// Lower edge of each bin.
    pub bin: Vec<i64>,
    /// Data collections in each bin.
    pub frequency: Vec<i64>,
}

/// `GET /stats/parameters/histogram`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct ParameterHistograms {
    /// Always `energy`.
    pub parameter: String,
    /// `eV`.
    pub unit: String,
    /// One histogram per beamline.
    #[serde(rename = "beamLines")]
    pub beam_lines: Vec<ParameterHistogram>,
}

/// Energies of the data collections in bins of 200 eV from 1000 to 25000 eV, per beamline;
/// one statement.
pub async fn energy_histogram(db: &Db, access: &Access, f: &StatsFilter) -> crate::Result<ParameterHistograms> {
    const START: i64 = 1000;
    const END: i64 = 25000;
    const BIN: i64 = 200;
    let mut q = QueryBuilder::<MySql>::new(
        "SELECT s.beamLineName, CAST(FLOOR((1.98644568e-25 / (dc.wavelength * 1e-10) / 1.60217646e-19) / 200) * 200 AS SIGNED) AS x,
           COUNT(*) FROM DataCollection dc
         JOIN DataCollectionGroup dcg ON dcg.dataCollectionGroupId = dc.dataCollectionGroupId
         JOIN BLSession s ON s.sessionId = dcg.sessionId JOIN Proposal p ON p.proposalId = s.proposalId
         WHERE dc.wavelength > 0",
    );
    push_filter(&mut q, access, f);
    q.push(" GROUP BY s.beamLineName, x ORDER BY s.beamLineName, x");
    let rows: Vec<(Option<String>, Option<i64>, i64)> = q.build_query_as().fetch_all(db.pool()).await?;
    let mut by_bl: BTreeMap<String, BTreeMap<i64, i64>> = BTreeMap::new();
    for (bl, x, n) in rows {
        by_bl.entry(bl.unwrap_or_default()).or_default().insert(x.unwrap_or(-1), n);
    }
    let beam_lines = by_bl
        .into_iter()
        .map(|(beam_line_name, counts)| {
            let bin: Vec<i64> = (START..END).step_by(BIN as usize).collect();
            let frequency = bin.iter().map(|b| counts.get(b).copied().unwrap_or(0)).collect();
            ParameterHistogram { beam_line_name, bin, frequency }
        })
        .collect();
    Ok(ParameterHistograms { parameter: "energy".into(), unit: "eV".into(), beam_lines })
}

/// A run (`v_run`).
#[derive(Debug, Clone, PartialEq, FromRow, serde::Serialize, utoipa::ToSchema)]
#[schema(as = VRun)]
pub struct Run {
    /// Name, e.g. `2020-03`.
    pub run: String,
    /// Id.
    #[serde(rename = "runId")]
    #[sqlx(rename = "runId")]
    pub run_id: i64,
    /// Start.
    #[serde(rename = "startDate")]
    #[sqlx(rename = "startDate")]
    #[schema(value_type = Option<String>)]
    pub start_date: DateTime,
    /// End.
    #[serde(rename = "endDate")]
    #[sqlx(rename = "endDate")]
    #[schema(value_type = Option<String>)]
    pub end_date: DateTime,
}

/// Runs, latest first; an empty page without `v_run` (`ispyb` flavour).
pub async fn runs(db: &Db, page: Page) -> crate::Result<Paged<Run>> {
    if !has_runs(db) {
        return Ok(Paged::new(Vec::new(), 0, page));
    }
    let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM v_run").fetch_one(db.pool()).await?;
    let rows = sqlx::query_as(
        "SELECT CAST(vr.run AS CHAR) AS run, CAST(vr.runId AS SIGNED) AS runId, vr.startDate, vr.endDate FROM v_run vr
         ORDER BY vr.startDate DESC, vr.runId DESC LIMIT ? OFFSET ?",
    )
    .bind(page.limit)
    .bind(page.skip)
    .fetch_all(db.pool())
    .await?;
    Ok(Paged::new(rows, total as u64, page))
}
