//! Synthetic data for demo and benchmark databases: a facility with MX, cryo-EM and SSX
//! beamlines, its staff and users, proposals with sessions, shipments and samples, data
//! collections with processing results, and cryo-EM movies with motion correction and CTF.
//!
//! Per unit of [`SeedOptions::scale`] the seeder writes about 1,000 data collections, 20
//! sessions (2 proposals of about 10 sessions), 100 cryo-EM movies and 5 persons; scale 1 is
//! the demo and scale 1000 (one million data collections) the benchmark. From scale 10 on, the
//! latest finished cryo-EM session also holds one data collection of 10,000 movies. At least three
//! proposals are made (one of each kind) whatever the scale; scale 0 writes only the
//! reference rows (permissions, user groups, demo persons, beamline groups).
//!
//! The data is a function of the seed, the scale and today's date: sessions are placed around
//! "now" so that some are current and some upcoming, and only sessions that have started hold
//! data.
//!
//! Reference rows are looked up first and created when missing: the permissions, the user
//! groups `admin`, `mx_staff`, `em_staff` and `users`, the persons with logins `admin`,
//! `staff`, `emstaff`, `user1`, `user2` and `user3`, and the `beamLineGroups` option. Bulk rows
//! get explicit ids that continue from each table's largest id, so the seeder adds to a
//! database that already holds data; it must be the only writer of these tables while it runs.
//! Bulk rows go in as multi-row `INSERT`s of bound values on a dedicated connection with
//! `foreign_key_checks` and `unique_checks` off, one transaction per flush; parents are
//! inserted before their children, so every foreign key holds once the run ends.

use std::ops::Range;

use chrono::{Duration, NaiveDate, NaiveDateTime, Timelike};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use sqlx::mysql::MySqlConnection;
use sqlx::query_builder::Separated;
use sqlx::{ConnectOptions, Connection, Executor, MySql, QueryBuilder};

use crate::{Db, Flavour};

/// What to generate.
#[derive(Debug, Clone)]
pub struct SeedOptions {
    /// Size of the facility: per unit about 1,000 data collections, 20 sessions and 100
    /// cryo-EM movies. 1 is the demo, 1000 the benchmark (one million data collections).
    pub scale: u32,
    /// Seed of the random generator: the same seed and scale give the same facility.
    pub seed: u64,
}

impl Default for SeedOptions {
    fn default() -> Self {
        Self { scale: 1, seed: 42 }
    }
}

/// Rows inserted by one run, by table.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SeedSummary {
    /// `Permission` rows created (those missing of the seeder's permission types).
    pub permissions: u64,
    /// `UserGroup` rows created (those missing of `admin`, `mx_staff`, `em_staff`, `users`).
    pub user_groups: u64,
    /// `Person` rows, demo persons that were missing included.
    pub persons: u64,
    /// `Laboratory` rows.
    pub laboratories: u64,
    /// `Proposal` rows.
    pub proposals: u64,
    /// `ProposalHasPerson` rows.
    pub proposal_persons: u64,
    /// `BLSession` rows.
    pub sessions: u64,
    /// `Session_has_Person` rows.
    pub session_persons: u64,
    /// `LabContact` rows.
    pub lab_contacts: u64,
    /// `Protein` rows.
    pub proteins: u64,
    /// `Crystal` rows.
    pub crystals: u64,
    /// `Shipping` rows.
    pub shippings: u64,
    /// `Dewar` rows.
    pub dewars: u64,
    /// `Container` rows.
    pub containers: u64,
    /// `BLSample` rows.
    pub samples: u64,
    /// `BLSubSample` rows (mesh scans).
    pub sub_samples: u64,
    /// `DataCollectionGroup` rows.
    pub data_collection_groups: u64,
    /// `DataCollection` rows (MX, EM and SSX).
    pub data_collections: u64,
    /// `Screening` rows (characterisations).
    pub screenings: u64,
    /// `SSXDataCollection` rows.
    pub ssx_data_collections: u64,
    /// `AutoProcProgram` rows.
    pub auto_proc_programs: u64,
    /// `AutoProc` rows.
    pub auto_procs: u64,
    /// `AutoProcScaling` rows.
    pub auto_proc_scalings: u64,
    /// `AutoProcIntegration` rows.
    pub auto_proc_integrations: u64,
    /// `AutoProcScaling_has_Int` rows.
    pub auto_proc_scaling_has_ints: u64,
    /// `AutoProcScalingStatistics` rows (overall, inner and outer shell per scaling).
    pub auto_proc_scaling_statistics: u64,
    /// `Movie` rows.
    pub movies: u64,
    /// `MotionCorrection` rows.
    pub motion_corrections: u64,
    /// `CTF` rows.
    pub ctfs: u64,
    /// `EnergyScan` rows.
    pub energy_scans: u64,
    /// `XFEFluorescenceSpectrum` rows.
    pub xfe_fluorescence_spectra: u64,
    /// `RobotAction` rows.
    pub robot_actions: u64,
}

/// Fills the database behind `db` with a synthetic facility of `opts.scale` units and returns
/// the number of rows written per table. `progress(stage, done, total)` is called as the work
/// proceeds, for a progress line.
pub async fn run(
    db: &Db,
    opts: &SeedOptions,
    progress: &(dyn Fn(&str, u64, u64) + Sync),
) -> crate::Result<SeedSummary> {
    if db.flavour() != Flavour::Ispyb {
        let msg = format!("synthetic data needs a database of the ispyb flavour, not {}", db.flavour());
        return Err(sqlx::Error::Configuration(msg.into()).into());
    }
    let now = now_minute();
    // A connection of our own: session settings below must not leak into the pool, and the
    // statement cache must hold one prepared INSERT per table and batch size.
    let connect = (*db.pool().connect_options()).clone().statement_cache_capacity(256).disable_statement_logging();
    let mut conn = connect.connect().await?;
    let mut summary = SeedSummary::default();

    progress(STAGE_SETUP, 0, 1);
    let demo = setup(&mut conn, &mut summary).await?;
    progress(STAGE_SETUP, 1, 1);

    conn.execute("SET SESSION foreign_key_checks = 0, unique_checks = 0").await?;
    let ids = Ids::load(&mut conn).await?;
    let first_number = next_proposal_number(&mut conn).await?;
    let mut g = Gen { rng: StdRng::seed_from_u64(opts.seed), ids, now };
    let plan = g.plan(opts.scale, &demo, first_number);
    let mut sink = Sink::new(conn);

    // Proposals, their people, sessions, shipments and samples.
    let total = plan.proposals.len() as u64;
    progress(STAGE_PROPOSALS, 0, total);
    g.emit_people(&mut sink, &plan);
    for (i, p) in plan.proposals.iter().enumerate() {
        g.emit_proposal(&mut sink, &plan, p);
        if sink.full() {
            sink.flush().await?;
            progress(STAGE_PROPOSALS, i as u64 + 1, total);
        }
    }
    sink.flush().await?;
    progress(STAGE_PROPOSALS, total, total);

    // Which started sessions hold how much data.
    let scale = u64::from(opts.scale);
    let started = |kind: Kind| -> Vec<usize> {
        (0..plan.sessions.len())
            .filter(|&i| plan.sessions[i].start <= now && plan.proposals[plan.sessions[i].proposal].kind == kind)
            .collect()
    };
    let (mx, em, ssx) = (started(Kind::Mx), started(Kind::Em), started(Kind::Ssx));
    let em_dcs: Vec<u64> = em.iter().map(|_| g.rng.random_range(1..=3)).collect();
    let ssx_dcs: Vec<u64> = ssx.iter().map(|_| g.rng.random_range(2..=5)).collect();
    let mx_total = (1000 * scale).saturating_sub(em_dcs.iter().sum::<u64>() + ssx_dcs.iter().sum::<u64>());
    let mx_dcs = split(&mut g.rng, mx_total, mx.len());
    let movie_total = 100 * scale;
    // From scale 10 on, the latest finished cryo-EM session also holds one long acquisition:
    // a data collection of 10,000 movies (its first), so the benchmark measures the EM summary,
    // movie pages and histograms where they are heaviest, at both of its scales alike.
    let big = (scale >= BIG_EM_FROM_SCALE)
        .then(|| {
            em.iter()
                .enumerate()
                .filter(|&(_, &si)| plan.sessions[si].end <= now)
                .max_by_key(|&(_, &si)| plan.sessions[si].start)
                .map(|(k, _)| em_dcs[..k].iter().sum::<u64>() as usize)
        })
        .flatten();
    let mut em_movies = split(&mut g.rng, movie_total, em_dcs.iter().sum::<u64>() as usize);
    if let Some(first_dc) = big {
        em_movies[first_dc] += BIG_EM_MOVIES;
    }
    let movie_total = em_movies.iter().sum::<u64>();

    // MX data collections with processing.
    let mut done = 0;
    progress(STAGE_MX, 0, mx_total);
    for (&si, &quota) in mx.iter().zip(&mx_dcs) {
        let s = &plan.sessions[si];
        g.mx_session(&mut sink, &plan.proposals[s.proposal], s, quota);
        done += quota;
        if sink.full() {
            sink.flush().await?;
            progress(STAGE_MX, done, mx_total);
        }
    }
    sink.flush().await?;
    progress(STAGE_MX, mx_total, mx_total);

    // Cryo-EM data collections with movies.
    let mut done = 0;
    let mut next = 0;
    progress(STAGE_EM, 0, movie_total);
    for (&si, &n) in em.iter().zip(&em_dcs) {
        let s = &plan.sessions[si];
        let movies = &em_movies[next..next + n as usize];
        next += n as usize;
        g.em_session(&mut sink, &plan.proposals[s.proposal], s, movies);
        done += movies.iter().sum::<u64>();
        if sink.full() {
            sink.flush().await?;
            progress(STAGE_EM, done, movie_total);
        }
    }
    sink.flush().await?;
    progress(STAGE_EM, movie_total, movie_total);

    // Serial crystallography.
    let ssx_total = ssx_dcs.iter().sum::<u64>();
    let mut done = 0;
    progress(STAGE_SSX, 0, ssx_total);
    for (&si, &n) in ssx.iter().zip(&ssx_dcs) {
        let s = &plan.sessions[si];
        g.ssx_session(&mut sink, &plan.proposals[s.proposal], s, n);
        done += n;
        if sink.full() {
            sink.flush().await?;
            progress(STAGE_SSX, done, ssx_total);
        }
    }
    sink.flush().await?;
    progress(STAGE_SSX, ssx_total, ssx_total);

    let Sink { mut conn, inserted, .. } = sink;
    conn.execute("SET SESSION foreign_key_checks = 1, unique_checks = 1").await?;
    conn.close().await?;

    let n = |t: T| inserted[t as usize];
    summary.persons += n(T::Person);
    summary.laboratories = n(T::Laboratory);
    summary.proposals = n(T::Proposal);
    summary.proposal_persons = n(T::ProposalHasPerson);
    summary.sessions = n(T::Session);
    summary.session_persons = n(T::SessionHasPerson);
    summary.lab_contacts = n(T::LabContact);
    summary.proteins = n(T::Protein);
    summary.crystals = n(T::Crystal);
    summary.shippings = n(T::Shipping);
    summary.dewars = n(T::Dewar);
    summary.containers = n(T::Container);
    summary.samples = n(T::Sample);
    summary.sub_samples = n(T::SubSample);
    summary.data_collection_groups = n(T::Group);
    summary.data_collections = n(T::Dc);
    summary.screenings = n(T::Screening);
    summary.ssx_data_collections = n(T::Ssx);
    summary.auto_proc_programs = n(T::Program);
    summary.auto_procs = n(T::AutoProc);
    summary.auto_proc_scalings = n(T::Scaling);
    summary.auto_proc_integrations = n(T::Integration);
    summary.auto_proc_scaling_has_ints = n(T::ScalingHasInt);
    summary.auto_proc_scaling_statistics = n(T::Statistics);
    summary.movies = n(T::Movie);
    summary.motion_corrections = n(T::MotionCorrection);
    summary.ctfs = n(T::Ctf);
    summary.energy_scans = n(T::EnergyScan);
    summary.xfe_fluorescence_spectra = n(T::Xfe);
    summary.robot_actions = n(T::RobotAction);
    Ok(summary)
}

const STAGE_SETUP: &str = "setup";
const STAGE_PROPOSALS: &str = "proposals";
const STAGE_MX: &str = "mx data collections";
const STAGE_EM: &str = "em movies";
/// Movies of the one long cryo-EM acquisition of a facility of scale [`BIG_EM_FROM_SCALE`] or more.
pub const BIG_EM_MOVIES: u64 = 10_000;
/// The smallest scale with the long cryo-EM acquisition.
pub const BIG_EM_FROM_SCALE: u64 = 10;
const STAGE_SSX: &str = "ssx data collections";

/// Most bound parameters in one statement (the protocol allows 65535).
const MAX_PARAMS: usize = 60_000;
/// Most rows in one statement.
const MAX_ROWS: usize = 2_000;
/// Values buffered before a flush (about 50 MB).
const FLUSH_VALUES: usize = 1_500_000;

// ---------------------------------------------------------------------------------------------
// Tables and the buffered writer.

/// The tables written in bulk, parents before children (the order of flushing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Laboratory,
    Person,
    Proposal,
    ProposalHasPerson,
    Session,
    SessionHasPerson,
    LabContact,
    Protein,
    Crystal,
    Shipping,
    Dewar,
    Container,
    Sample,
    SubSample,
    Group,
    Dc,
    Screening,
    Ssx,
    Program,
    AutoProc,
    Scaling,
    Integration,
    ScalingHasInt,
    Statistics,
    Movie,
    MotionCorrection,
    Ctf,
    EnergyScan,
    Xfe,
    RobotAction,
}

const N_TABLES: usize = 30;

/// Table name, primary key column (for id allocation) and the columns the seeder writes.
struct Spec {
    name: &'static str,
    id: Option<&'static str>,
    cols: &'static [&'static str],
}

static SPECS: [Spec; N_TABLES] = [
    Spec {
        name: "Laboratory",
        id: Some("laboratoryId"),
        cols: &["laboratoryId", "name", "address", "city", "country", "organization", "recordTimeStamp"],
    },
    Spec {
        name: "Person",
        id: Some("personId"),
        cols: &[
            "personId",
            "laboratoryId",
            "familyName",
            "givenName",
            "title",
            "emailAddress",
            "phoneNumber",
            "login",
            "recordTimeStamp",
        ],
    },
    Spec {
        name: "Proposal",
        id: Some("proposalId"),
        cols: &[
            "proposalId",
            "personId",
            "title",
            "proposalCode",
            "proposalNumber",
            "proposalType",
            "bltimeStamp",
            "state",
        ],
    },
    Spec {
        name: "ProposalHasPerson",
        id: Some("proposalHasPersonId"),
        cols: &["proposalHasPersonId", "proposalId", "personId"],
    },
    Spec {
        name: "BLSession",
        id: Some("sessionId"),
        cols: &[
            "sessionId",
            "proposalId",
            "startDate",
            "endDate",
            "beamLineName",
            "scheduled",
            "nbShifts",
            "comments",
            "beamLineOperator",
            "visit_number",
            "bltimeStamp",
            "usedFlag",
            "lastUpdate",
        ],
    },
    Spec { name: "Session_has_Person", id: None, cols: &["sessionId", "personId", "role", "remote"] },
    Spec {
        name: "LabContact",
        id: Some("labContactId"),
        cols: &[
            "labContactId",
            "personId",
            "cardName",
            "proposalId",
            "defaultCourrierCompany",
            "courierAccount",
            "dewarAvgCustomsValue",
            "dewarAvgTransportValue",
            "recordTimeStamp",
        ],
    },
    Spec {
        name: "Protein",
        id: Some("proteinId"),
        cols: &[
            "proteinId",
            "proposalId",
            "name",
            "acronym",
            "description",
            "molecularMass",
            "proteinType",
            "sequence",
            "personId",
            "bltimeStamp",
            "safetyLevel",
        ],
    },
    Spec {
        name: "Crystal",
        id: Some("crystalId"),
        cols: &[
            "crystalId",
            "proteinId",
            "name",
            "spaceGroup",
            "cell_a",
            "cell_b",
            "cell_c",
            "cell_alpha",
            "cell_beta",
            "cell_gamma",
            "size_X",
            "size_Y",
            "size_Z",
            "recordTimeStamp",
        ],
    },
    Spec {
        name: "Shipping",
        id: Some("shippingId"),
        cols: &[
            "shippingId",
            "proposalId",
            "shippingName",
            "deliveryAgent_agentName",
            "deliveryAgent_shippingDate",
            "deliveryAgent_deliveryDate",
            "shippingStatus",
            "bltimeStamp",
            "laboratoryId",
            "creationDate",
            "sendingLabContactId",
            "returnLabContactId",
            "returnCourier",
            "shippingType",
            "safetyLevel",
        ],
    },
    Spec {
        name: "Dewar",
        id: Some("dewarId"),
        cols: &[
            "dewarId",
            "shippingId",
            "code",
            "storageLocation",
            "dewarStatus",
            "bltimeStamp",
            "barCode",
            "firstExperimentId",
            "customsValue",
            "transportValue",
            "trackingNumberToSynchrotron",
        ],
    },
    Spec {
        name: "Container",
        id: Some("containerId"),
        cols: &[
            "containerId",
            "dewarId",
            "code",
            "containerType",
            "capacity",
            "beamlineLocation",
            "sampleChangerLocation",
            "containerStatus",
            "bltimeStamp",
            "barcode",
            "sessionId",
            "ownerId",
        ],
    },
    Spec {
        name: "BLSample",
        id: Some("blSampleId"),
        cols: &[
            "blSampleId",
            "crystalId",
            "containerId",
            "name",
            "code",
            "location",
            "loopType",
            "comments",
            "blSampleStatus",
            "isInSampleChanger",
            "recordTimeStamp",
        ],
    },
    Spec {
        name: "BLSubSample",
        id: Some("blSubSampleId"),
        cols: &["blSubSampleId", "blSampleId", "imgFileName", "imgFilePath", "comments", "recordTimeStamp"],
    },
    Spec {
        name: "DataCollectionGroup",
        id: Some("dataCollectionGroupId"),
        cols: &[
            "dataCollectionGroupId",
            "blSampleId",
            "sessionId",
            "experimentType",
            "startTime",
            "endTime",
            "comments",
            "actualSampleBarcode",
            "actualSampleSlotInContainer",
            "actualContainerBarcode",
            "actualContainerSlotInSC",
            "xtalSnapshotFullPath",
        ],
    },
    Spec {
        name: "DataCollection",
        id: Some("dataCollectionId"),
        cols: &[
            "dataCollectionId",
            "dataCollectionGroupId",
            "blSubSampleId",
            "dataCollectionNumber",
            "startTime",
            "endTime",
            "runStatus",
            "axisStart",
            "axisEnd",
            "axisRange",
            "overlap",
            "numberOfImages",
            "startImageNumber",
            "numberOfPasses",
            "exposureTime",
            "imageDirectory",
            "imagePrefix",
            "imageSuffix",
            "fileTemplate",
            "wavelength",
            "resolution",
            "detectorDistance",
            "xBeam",
            "yBeam",
            "comments",
            "transmission",
            "synchrotronMode",
            "xtalSnapshotFullPath1",
            "rotationAxis",
            "phiStart",
            "kappaStart",
            "omegaStart",
            "resolutionAtCorner",
            "beamSizeAtSampleX",
            "beamSizeAtSampleY",
            "flux",
            "flux_end",
            "blSampleId",
            "sessionId",
            "experimentType",
            "magnification",
            "voltage",
        ],
    },
    Spec {
        name: "Screening",
        id: Some("screeningId"),
        cols: &[
            "screeningId",
            "dataCollectionGroupId",
            "dataCollectionId",
            "bltimeStamp",
            "programVersion",
            "comments",
            "shortComments",
        ],
    },
    Spec {
        name: "SSXDataCollection",
        id: None,
        cols: &[
            "dataCollectionId",
            "repetitionRate",
            "energyBandwidth",
            "monoStripe",
            "jetSpeed",
            "jetSize",
            "chipPattern",
            "chipModel",
            "reactionDuration",
            "laserEnergy",
            "experimentName",
        ],
    },
    Spec {
        name: "AutoProcProgram",
        id: Some("autoProcProgramId"),
        cols: &[
            "autoProcProgramId",
            "dataCollectionId",
            "processingCommandLine",
            "processingPrograms",
            "processingStatus",
            "processingMessage",
            "processingStartTime",
            "processingEndTime",
            "processingEnvironment",
            "recordTimeStamp",
        ],
    },
    Spec {
        name: "AutoProc",
        id: Some("autoProcId"),
        cols: &[
            "autoProcId",
            "autoProcProgramId",
            "spaceGroup",
            "refinedCell_a",
            "refinedCell_b",
            "refinedCell_c",
            "refinedCell_alpha",
            "refinedCell_beta",
            "refinedCell_gamma",
            "recordTimeStamp",
        ],
    },
    Spec {
        name: "AutoProcScaling",
        id: Some("autoProcScalingId"),
        cols: &["autoProcScalingId", "autoProcId", "recordTimeStamp"],
    },
    Spec {
        name: "AutoProcIntegration",
        id: Some("autoProcIntegrationId"),
        cols: &[
            "autoProcIntegrationId",
            "dataCollectionId",
            "autoProcProgramId",
            "startImageNumber",
            "endImageNumber",
            "refinedDetectorDistance",
            "refinedXBeam",
            "refinedYBeam",
            "cell_a",
            "cell_b",
            "cell_c",
            "cell_alpha",
            "cell_beta",
            "cell_gamma",
            "recordTimeStamp",
            "anomalous",
        ],
    },
    Spec {
        name: "AutoProcScaling_has_Int",
        id: Some("autoProcScaling_has_IntId"),
        cols: &["autoProcScaling_has_IntId", "autoProcScalingId", "autoProcIntegrationId", "recordTimeStamp"],
    },
    Spec {
        name: "AutoProcScalingStatistics",
        id: Some("autoProcScalingStatisticsId"),
        cols: &[
            "autoProcScalingStatisticsId",
            "autoProcScalingId",
            "scalingStatisticsType",
            "resolutionLimitLow",
            "resolutionLimitHigh",
            "rMerge",
            "rMeasAllIPlusIMinus",
            "rPimAllIPlusIMinus",
            "nTotalObservations",
            "nTotalUniqueObservations",
            "meanIOverSigI",
            "completeness",
            "multiplicity",
            "anomalousCompleteness",
            "anomalousMultiplicity",
            "recordTimeStamp",
            "anomalous",
            "ccHalf",
            "ccAno",
        ],
    },
    Spec {
        name: "Movie",
        id: Some("movieId"),
        cols: &[
            "movieId",
            "dataCollectionId",
            "movieNumber",
            "movieFullPath",
            "positionX",
            "positionY",
            "micrographFullPath",
            "micrographSnapshotFullPath",
            "xmlMetaDataFullPath",
            "dosePerImage",
            "createdTimeStamp",
        ],
    },
    Spec {
        name: "MotionCorrection",
        id: Some("motionCorrectionId"),
        cols: &[
            "motionCorrectionId",
            "movieId",
            "firstFrame",
            "lastFrame",
            "dosePerFrame",
            "doseWeight",
            "totalMotion",
            "averageMotionPerFrame",
            "driftPlotFullPath",
            "micrographFullPath",
            "micrographSnapshotFullPath",
            "correctedDoseMicrographFullPath",
            "patchesUsed",
            "logFileFullPath",
            "createdTimeStamp",
        ],
    },
    Spec {
        name: "CTF",
        id: Some("CTFid"),
        cols: &[
            "CTFid",
            "motionCorrectionId",
            "spectraImageThumbnailFullPath",
            "spectraImageFullPath",
            "defocusU",
            "defocusV",
            "angle",
            "crossCorrelationCoefficient",
            "resolutionLimit",
            "estimatedBfactor",
            "logFilePath",
            "createdTimeStamp",
        ],
    },
    Spec {
        name: "EnergyScan",
        id: Some("energyScanId"),
        cols: &[
            "energyScanId",
            "sessionId",
            "blSampleId",
            "fluorescenceDetector",
            "scanFileFullPath",
            "choochFileFullPath",
            "jpegChoochFileFullPath",
            "element",
            "startEnergy",
            "endEnergy",
            "transmissionFactor",
            "exposureTime",
            "peakEnergy",
            "peakFPrime",
            "peakFDoublePrime",
            "inflectionEnergy",
            "inflectionFPrime",
            "inflectionFDoublePrime",
            "startTime",
            "endTime",
            "edgeEnergy",
            "filename",
            "beamSizeVertical",
            "beamSizeHorizontal",
        ],
    },
    Spec {
        name: "XFEFluorescenceSpectrum",
        id: Some("xfeFluorescenceSpectrumId"),
        cols: &[
            "xfeFluorescenceSpectrumId",
            "sessionId",
            "blSampleId",
            "fittedDataFileFullPath",
            "scanFileFullPath",
            "jpegScanFileFullPath",
            "startTime",
            "endTime",
            "filename",
            "energy",
            "exposureTime",
            "beamTransmission",
            "beamSizeVertical",
            "beamSizeHorizontal",
            "workingDirectory",
        ],
    },
    Spec {
        name: "RobotAction",
        id: Some("robotActionId"),
        cols: &[
            "robotActionId",
            "blsessionId",
            "blsampleId",
            "actionType",
            "startTimestamp",
            "endTimestamp",
            "status",
            "message",
            "containerLocation",
            "dewarLocation",
            "sampleBarcode",
        ],
    },
];

/// One bound value.
#[derive(Debug, Clone)]
enum V {
    Null,
    Int(i64),
    Real(f64),
    Static(&'static str),
    Text(String),
    Time(NaiveDateTime),
    Date(NaiveDate),
}

impl From<i64> for V {
    fn from(v: i64) -> Self {
        V::Int(v)
    }
}
impl From<u32> for V {
    fn from(v: u32) -> Self {
        V::Int(i64::from(v))
    }
}
impl From<u64> for V {
    fn from(v: u64) -> Self {
        V::Int(v as i64)
    }
}
impl From<bool> for V {
    fn from(v: bool) -> Self {
        V::Int(i64::from(v))
    }
}
impl From<f64> for V {
    fn from(v: f64) -> Self {
        V::Real(v)
    }
}
impl From<&'static str> for V {
    fn from(v: &'static str) -> Self {
        V::Static(v)
    }
}
impl From<String> for V {
    fn from(v: String) -> Self {
        V::Text(v)
    }
}
impl From<NaiveDateTime> for V {
    fn from(v: NaiveDateTime) -> Self {
        V::Time(v)
    }
}
impl From<NaiveDate> for V {
    fn from(v: NaiveDate) -> Self {
        V::Date(v)
    }
}
impl<X: Into<V>> From<Option<X>> for V {
    fn from(v: Option<X>) -> Self {
        v.map_or(V::Null, Into::into)
    }
}

/// A row of values, in the order of the table's columns in [`SPECS`].
macro_rules! row {
    ($($v:expr),* $(,)?) => { [$(V::from($v)),*] };
}

fn bind(b: &mut Separated<'_, MySql, &'static str>, v: &V) {
    match v {
        V::Null => b.push_bind(None::<i64>),
        V::Int(x) => b.push_bind(*x),
        V::Real(x) => b.push_bind(*x),
        V::Static(s) => b.push_bind(*s),
        V::Text(s) => b.push_bind(s.as_str()),
        V::Time(t) => b.push_bind(*t),
        V::Date(d) => b.push_bind(*d),
    };
}

/// Buffers rows per table and writes them as multi-row INSERTs, parents first, one
/// transaction per flush.
struct Sink {
    conn: MySqlConnection,
    rows: Vec<Vec<V>>,
    pending: usize,
    inserted: [u64; N_TABLES],
}

impl Sink {
    fn new(conn: MySqlConnection) -> Self {
        Self { conn, rows: (0..N_TABLES).map(|_| Vec::new()).collect(), pending: 0, inserted: [0; N_TABLES] }
    }

    fn push<const N: usize>(&mut self, t: T, row: [V; N]) {
        assert_eq!(N, SPECS[t as usize].cols.len(), "row of {}", SPECS[t as usize].name);
        self.rows[t as usize].extend(row);
        self.pending += N;
    }

    fn full(&self) -> bool {
        self.pending >= FLUSH_VALUES
    }

    async fn flush(&mut self) -> crate::Result<()> {
        if self.pending == 0 {
            return Ok(());
        }
        let mut tx = self.conn.begin().await?;
        for (t, spec) in SPECS.iter().enumerate() {
            let values = &self.rows[t];
            if values.is_empty() {
                continue;
            }
            let ncols = spec.cols.len();
            let per_statement = (MAX_PARAMS / ncols).min(MAX_ROWS);
            let head = format!(
                "INSERT INTO `{}` ({}) ",
                spec.name,
                spec.cols.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            );
            for batch in values.chunks(per_statement * ncols) {
                let mut q = QueryBuilder::<MySql>::new(head.as_str());
                q.push_values(batch.chunks(ncols), |mut b, row| {
                    for v in row {
                        bind(&mut b, v);
                    }
                });
                q.build().execute(&mut *tx).await?;
            }
            self.inserted[t] += (values.len() / ncols) as u64;
        }
        tx.commit().await?;
        for r in &mut self.rows {
            r.clear();
        }
        self.pending = 0;
        Ok(())
    }
}

/// Next free id per table, from the largest id present when the run starts.
struct Ids {
    next: [i64; N_TABLES],
}

impl Ids {
    async fn load(conn: &mut MySqlConnection) -> crate::Result<Self> {
        let mut next = [1; N_TABLES];
        for (t, spec) in SPECS.iter().enumerate() {
            let Some(id) = spec.id else { continue };
            let sql = format!("SELECT CAST(COALESCE(MAX(`{id}`), 0) AS SIGNED) FROM `{}`", spec.name);
            let max: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut *conn).await?;
            next[t] = max + 1;
        }
        Ok(Self { next })
    }

    fn take(&mut self, t: T) -> i64 {
        self.take_n(t, 1)
    }

    /// Reserves `n` consecutive ids and returns the first.
    fn take_n(&mut self, t: T, n: usize) -> i64 {
        let first = self.next[t as usize];
        self.next[t as usize] += n as i64;
        first
    }
}

// ---------------------------------------------------------------------------------------------
// Reference rows: permissions, groups, demo persons, beamline groups.

const PERMISSIONS: &[(&str, &str)] = &[
    ("all_proposals", "View all proposals"),
    ("manage_options", "Manage site options"),
    ("bl_admin", "MX beamline staff"),
    ("em_admin", "EM beamline staff"),
    ("own_proposals", "View own proposals"),
    ("own_sessions", "View own sessions"),
    ("all_sessions", "View all sessions"),
    ("manage_persons", "Manage persons"),
    ("view_activity", "View activity"),
];

const GROUPS: &[(&str, &[&str])] = &[
    ("admin", &["all_proposals", "manage_options", "manage_persons", "view_activity", "all_sessions"]),
    ("mx_staff", &["bl_admin", "own_proposals", "own_sessions"]),
    ("em_staff", &["em_admin"]),
    ("users", &["own_proposals", "own_sessions"]),
];

/// Login, given name, family name, group.
const DEMO_PERSONS: &[(&str, &str, &str, &str)] = &[
    ("admin", "Alex", "Admin", "admin"),
    ("staff", "Sasha", "Staff", "mx_staff"),
    ("emstaff", "Emil", "Microscopist", "em_staff"),
    ("user1", "Uma", "One", "users"),
    ("user2", "Ulf", "Two", "users"),
    ("user3", "Ursula", "Three", "users"),
];

const MX_BEAMLINES: &[&str] = &["BL01", "BL02", "BL03", "BL04"];
const EM_BEAMLINES: &[&str] = &["M01", "M02"];
const SSX_BEAMLINE: &str = "BL05";

/// Person ids of the demo persons.
struct Demo {
    staff: i64,
    emstaff: i64,
    user1: i64,
    /// `user2`, when they are on no session yet (they stay on exactly one).
    user2: Option<i64>,
}

const STAFF_NAME: &str = "Sasha Staff";
const EMSTAFF_NAME: &str = "Emil Microscopist";

async fn setup(conn: &mut MySqlConnection, summary: &mut SeedSummary) -> crate::Result<Demo> {
    let mut permission_ids = Vec::new();
    for (ty, description) in PERMISSIONS {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(permissionId AS SIGNED) FROM Permission WHERE type = ? ORDER BY permissionId LIMIT 1",
        )
        .bind(ty)
        .fetch_optional(&mut *conn)
        .await?;
        let id = match found {
            Some(id) => id,
            None => {
                summary.permissions += 1;
                let r = sqlx::query("INSERT INTO Permission (type, description) VALUES (?, ?)")
                    .bind(ty)
                    .bind(description)
                    .execute(&mut *conn)
                    .await?;
                r.last_insert_id() as i64
            }
        };
        permission_ids.push((*ty, id));
    }
    let mut group_ids = Vec::new();
    for (name, perms) in GROUPS {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT CAST(userGroupId AS SIGNED) FROM UserGroup WHERE name = ? LIMIT 1")
                .bind(name)
                .fetch_optional(&mut *conn)
                .await?;
        let id = match found {
            Some(id) => id,
            None => {
                summary.user_groups += 1;
                let r = sqlx::query("INSERT INTO UserGroup (name) VALUES (?)").bind(name).execute(&mut *conn).await?;
                r.last_insert_id() as i64
            }
        };
        for perm in *perms {
            let pid = permission_ids.iter().find(|(t, _)| t == perm).map(|(_, id)| *id).unwrap_or_default();
            sqlx::query("INSERT IGNORE INTO UserGroup_has_Permission (userGroupId, permissionId) VALUES (?, ?)")
                .bind(id)
                .bind(pid)
                .execute(&mut *conn)
                .await?;
        }
        group_ids.push((*name, id));
    }
    let mut person_ids = Vec::new();
    for (login, given, family, group) in DEMO_PERSONS {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT CAST(personId AS SIGNED) FROM Person WHERE login = ? ORDER BY personId LIMIT 1")
                .bind(login)
                .fetch_optional(&mut *conn)
                .await?;
        let id = match found {
            Some(id) => id,
            None => {
                summary.persons += 1;
                let r =
                    sqlx::query("INSERT INTO Person (login, givenName, familyName, emailAddress) VALUES (?, ?, ?, ?)")
                        .bind(login)
                        .bind(given)
                        .bind(family)
                        .bind(format!("{login}@example.org"))
                        .execute(&mut *conn)
                        .await?;
                r.last_insert_id() as i64
            }
        };
        let gid = group_ids.iter().find(|(n, _)| n == group).map(|(_, id)| *id).unwrap_or_default();
        sqlx::query("INSERT IGNORE INTO UserGroup_has_Person (userGroupId, personId) VALUES (?, ?)")
            .bind(gid)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        person_ids.push(id);
    }
    let has_groups: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM AdminVar WHERE name = 'beamLineGroups'").fetch_one(&mut *conn).await?;
    if has_groups == 0 {
        sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('beamLineGroups', ?)")
            .bind(beamline_groups())
            .execute(&mut *conn)
            .await?;
    }
    let user2_sessions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM Session_has_Person WHERE personId = ?")
        .bind(person_ids[4])
        .fetch_one(&mut *conn)
        .await?;
    Ok(Demo {
        staff: person_ids[1],
        emstaff: person_ids[2],
        user1: person_ids[3],
        user2: (user2_sessions == 0).then_some(person_ids[4]),
    })
}

/// The `beamLineGroups` option: MX (with SSX) and EM beamlines.
fn beamline_groups() -> String {
    let lines = |names: &[&str]| -> Vec<serde_json::Value> {
        names.iter().map(|n| serde_json::json!({ "beamLineName": n })).collect()
    };
    let mut mx = MX_BEAMLINES.to_vec();
    mx.push(SSX_BEAMLINE);
    serde_json::json!([
        {"groupName": "MX", "uiGroup": "mx", "permission": "bl_admin", "beamLines": lines(&mx)},
        {"groupName": "EM", "uiGroup": "em", "permission": "em_admin", "beamLines": lines(EM_BEAMLINES)},
    ])
    .to_string()
}

/// First proposal number to use: after every numeric number present, and above 1000.
async fn next_proposal_number(conn: &mut MySqlConnection) -> crate::Result<u64> {
    let max: i64 = sqlx::query_scalar(
        "SELECT CAST(COALESCE(MAX(CAST(proposalNumber AS UNSIGNED)), 0) AS SIGNED) FROM Proposal
         WHERE proposalNumber REGEXP '^[0-9]{1,9}$'",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(max.max(1000) as u64 + 1)
}

// ---------------------------------------------------------------------------------------------
// Catalogues.

const GIVEN_NAMES: &[&str] = &[
    "Alice", "Bruno", "Chiara", "David", "Elena", "Felix", "Greta", "Hugo", "Ines", "Jonas", "Katya", "Luca", "Marta",
    "Nils", "Olga", "Pierre", "Quentin", "Rosa", "Stefan", "Tara", "Victor", "Wen", "Xavier", "Yuki", "Zofia", "Aisha",
    "Bjorn", "Carmen", "Dmitri", "Eva", "Farid", "Hanna", "Ivan", "Julia", "Kenji", "Lena", "Mateo", "Nora", "Omar",
    "Paula",
];

const FAMILY_NAMES: &[&str] = &[
    "Martin",
    "Bernard",
    "Rossi",
    "Muller",
    "Schmidt",
    "Garcia",
    "Kowalski",
    "Nielsen",
    "Dubois",
    "Ferrari",
    "Novak",
    "Jensen",
    "Silva",
    "Tanaka",
    "Olsen",
    "Costa",
    "Fischer",
    "Moreau",
    "Romano",
    "Weber",
    "Laurent",
    "Horvat",
    "Berg",
    "Ivanova",
    "Petit",
    "Keller",
    "Lopez",
    "Wagner",
    "Marino",
    "Bauer",
    "Leroy",
    "Nowak",
    "Santos",
    "Lindqvist",
    "Okafor",
    "Chen",
    "Haddad",
    "Murphy",
    "Svoboda",
    "Yilmaz",
];

const TITLES: &[Option<&str>] = &[Some("Dr"), Some("Dr"), Some("Prof"), Some("Mr"), Some("Ms"), None];

/// Name, city, country, organisation.
const LABS: &[(&str, &str, &str, &str)] = &[
    ("Institut de Biologie Structurale", "Grenoble", "France", "CNRS"),
    ("EMBL Grenoble", "Grenoble", "France", "EMBL"),
    ("Structural Biology Unit", "Heidelberg", "Germany", "EMBL"),
    ("Biozentrum", "Basel", "Switzerland", "University of Basel"),
    ("Department of Biochemistry", "Cambridge", "United Kingdom", "University of Cambridge"),
    ("Structural Virology Unit", "Paris", "France", "Institut Pasteur"),
    ("Centro Nacional de Biotecnologia", "Madrid", "Spain", "CSIC"),
    ("Department of Medical Biochemistry", "Stockholm", "Sweden", "Karolinska Institutet"),
    ("Max Planck Institute of Biochemistry", "Martinsried", "Germany", "Max Planck Society"),
    ("Department of Chemistry", "Milan", "Italy", "University of Milan"),
    ("Structural Genomics Consortium", "Oxford", "United Kingdom", "University of Oxford"),
    ("IGBMC", "Illkirch", "France", "Inserm"),
    ("Novo Nordisk Foundation Center", "Copenhagen", "Denmark", "University of Copenhagen"),
    ("Drug Discovery Sciences", "Basel", "Switzerland", "Pharma AG"),
    ("Institute of Biotechnology", "Vilnius", "Lithuania", "Vilnius University"),
];

/// A protein the facility's users bring, with a typical crystal form.
struct ProteinCat {
    name: &'static str,
    acronym: &'static str,
    kda: f64,
    space_group: Option<&'static str>,
    cell: [f64; 6],
}

const fn p(
    name: &'static str,
    acronym: &'static str,
    kda: f64,
    space_group: Option<&'static str>,
    cell: [f64; 6],
) -> ProteinCat {
    ProteinCat { name, acronym, kda, space_group, cell }
}

const MX_PROTEINS: &[ProteinCat] = &[
    p("Lysozyme C", "LYS", 14.3, Some("P43212"), [79.1, 79.1, 37.9, 90.0, 90.0, 90.0]),
    p("Thaumatin", "THAU", 22.2, Some("P41212"), [58.6, 58.6, 151.7, 90.0, 90.0, 90.0]),
    p("Insulin", "INS", 5.8, Some("I213"), [78.0, 78.0, 78.0, 90.0, 90.0, 90.0]),
    p("Trypsin", "TRYP", 23.3, Some("P212121"), [54.8, 58.5, 67.5, 90.0, 90.0, 90.0]),
    p("Thermolysin", "THL", 34.6, Some("P6122"), [92.8, 92.8, 130.5, 90.0, 90.0, 120.0]),
    p("Proteinase K", "PRK", 28.9, Some("P43212"), [67.9, 67.9, 102.2, 90.0, 90.0, 90.0]),
    p("Glucose isomerase", "GI", 43.2, Some("I222"), [93.9, 99.7, 102.9, 90.0, 90.0, 90.0]),
    p("Concanavalin A", "CONA", 25.5, Some("I222"), [89.7, 86.9, 62.7, 90.0, 90.0, 90.0]),
    p("Myoglobin", "MB", 17.0, Some("P21"), [64.6, 30.9, 34.8, 90.0, 105.8, 90.0]),
    p("Carbonic anhydrase II", "CA2", 29.2, Some("P21"), [42.2, 41.2, 72.0, 90.0, 104.2, 90.0]),
    p("Ribonuclease A", "RNASEA", 13.7, Some("P3221"), [64.2, 64.2, 63.7, 90.0, 90.0, 120.0]),
    p("Beta-lactamase TEM-1", "TEM1", 28.9, Some("P212121"), [41.1, 61.2, 88.3, 90.0, 90.0, 90.0]),
    p("HIV-1 protease", "HIVPR", 10.8, Some("P61"), [62.4, 62.4, 82.1, 90.0, 90.0, 120.0]),
    p("EGFR kinase domain", "EGFRK", 37.0, Some("I23"), [145.4, 145.4, 145.4, 90.0, 90.0, 90.0]),
    p("Photoactive yellow protein", "PYP", 14.0, Some("P63"), [66.9, 66.9, 40.8, 90.0, 90.0, 120.0]),
    p("Bacteriorhodopsin", "BR", 26.8, Some("P63"), [62.0, 62.0, 110.0, 90.0, 90.0, 120.0]),
];

const EM_PROTEINS: &[ProteinCat] = &[
    p("Apoferritin", "APOF", 474.0, None, [0.0; 6]),
    p("Beta-galactosidase", "BGAL", 465.0, None, [0.0; 6]),
    p("20S proteasome", "PROT20S", 700.0, None, [0.0; 6]),
    p("GroEL chaperonin", "GROEL", 800.0, None, [0.0; 6]),
    p("Spike glycoprotein", "SPIKE", 540.0, None, [0.0; 6]),
    p("TRPV1 channel", "TRPV1", 380.0, None, [0.0; 6]),
    p("Photosystem I", "PSI", 1000.0, None, [0.0; 6]),
    p("70S ribosome", "RIB70S", 2500.0, None, [0.0; 6]),
    p("Aldolase", "ALDO", 157.0, None, [0.0; 6]),
];

const AMINO_ACIDS: &[u8] = b"ACDEFGHIKLMNPQRSTVWY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Mx,
    Em,
    Ssx,
}

impl Kind {
    fn code(self) -> &'static str {
        match self {
            Kind::Mx => "mx",
            Kind::Em => "em",
            Kind::Ssx => "ssx",
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The plan: everything above data collections, with ids, kept in memory.

struct PersonPlan {
    id: i64,
    lab: i64,
    given: &'static str,
    family: &'static str,
    title: Option<&'static str>,
}

struct ProteinPlan {
    id: i64,
    crystal: i64,
    cat: &'static ProteinCat,
}

struct ShipPlan {
    shipping: i64,
    dewar: i64,
    /// Indices into `Plan::sessions`.
    sessions: Range<usize>,
}

struct SessionPlan {
    id: i64,
    proposal: usize,
    beamline: &'static str,
    start: NaiveDateTime,
    end: NaiveDateTime,
    visit: u32,
    shifts: u32,
    dewar: i64,
    container: i64,
    sc_location: u32,
    samples_first: i64,
    /// Index into the proposal's proteins, per sample (location = index + 1).
    samples: Vec<u8>,
    /// Person, role, remote.
    people: Vec<(i64, &'static str, bool)>,
}

struct ProposalPlan {
    id: i64,
    kind: Kind,
    number: u64,
    name: String,
    title: String,
    /// Index into `Plan::persons`.
    pi: usize,
    /// Every person on the proposal (PI first), by person id.
    members: Vec<i64>,
    lab: i64,
    created: NaiveDateTime,
    state: &'static str,
    proteins: Vec<ProteinPlan>,
    /// Lab contact id and index into `Plan::persons`.
    contacts: Vec<(i64, usize)>,
    /// Indices into `Plan::sessions`.
    sessions: Range<usize>,
    ships: Vec<ShipPlan>,
}

struct Plan {
    labs: Vec<(i64, usize)>,
    persons: Vec<PersonPlan>,
    proposals: Vec<ProposalPlan>,
    sessions: Vec<SessionPlan>,
}

/// Generator state: random numbers, ids and the time the run started.
struct Gen {
    rng: StdRng,
    ids: Ids,
    now: NaiveDateTime,
}

fn now_minute() -> NaiveDateTime {
    let t = chrono::Local::now().naive_local();
    t.with_second(0).and_then(|t| t.with_nanosecond(0)).unwrap_or(t)
}

fn ymd(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}

fn at(d: NaiveDate, hour: u32) -> NaiveDateTime {
    d.and_hms_opt(hour, 0, 0).unwrap_or_default()
}

/// Rounds to `digits` decimals.
fn r(x: f64, digits: i32) -> f64 {
    let m = 10f64.powi(digits);
    (x * m).round() / m
}

/// Splits `total` into `n` parts of random, comparable sizes that add up to `total`.
fn split(rng: &mut StdRng, total: u64, n: usize) -> Vec<u64> {
    if n == 0 {
        return Vec::new();
    }
    let weights: Vec<f64> = (0..n).map(|_| rng.random_range(0.5..1.5)).collect();
    let sum: f64 = weights.iter().sum();
    let mut out = Vec::with_capacity(n);
    let (mut acc, mut prev) = (0.0, 0u64);
    for w in &weights {
        acc += w;
        let cum = ((acc / sum) * total as f64).round() as u64;
        let cum = cum.clamp(prev, total);
        out.push(cum - prev);
        prev = cum;
    }
    if let Some(last) = out.last_mut() {
        *last += total - prev;
    }
    out
}

impl Gen {
    fn plan(&mut self, scale: u32, demo: &Demo, first_number: u64) -> Plan {
        let now = self.now;
        let today = now.date();
        let n_proposals = if scale == 0 { 0 } else { (2 * scale as usize).max(3) };
        let n_persons = 5 * scale as usize;
        let n_labs = n_persons.div_ceil(3);
        let rng = &mut self.rng;

        let labs: Vec<(i64, usize)> =
            (0..n_labs).map(|_| (self.ids.take(T::Laboratory), rng.random_range(0..LABS.len()))).collect();
        let persons: Vec<PersonPlan> = (0..n_persons)
            .map(|_| PersonPlan {
                id: self.ids.take(T::Person),
                lab: labs[rng.random_range(0..labs.len())].0,
                given: GIVEN_NAMES[rng.random_range(0..GIVEN_NAMES.len())],
                family: FAMILY_NAMES[rng.random_range(0..FAMILY_NAMES.len())],
                title: TITLES[rng.random_range(0..TITLES.len())],
            })
            .collect();

        let mut proposals = Vec::with_capacity(n_proposals);
        let mut sessions: Vec<SessionPlan> = Vec::with_capacity(n_proposals * 10);
        for i in 0..n_proposals {
            let kind = match i {
                0 => Kind::Mx,
                1 => Kind::Em,
                2 => Kind::Ssx,
                _ => match rng.random_range(0..20) {
                    0..13 => Kind::Mx,
                    13..18 => Kind::Em,
                    _ => Kind::Ssx,
                },
            };
            let number = first_number + i as u64;
            let name = format!("{}{number}", kind.code());
            let pi = rng.random_range(0..persons.len());
            let mut member_idx = vec![pi];
            let wanted = rng.random_range(1..=3).min(persons.len() - 1);
            while member_idx.len() < wanted + 1 {
                let m = rng.random_range(0..persons.len());
                if !member_idx.contains(&m) {
                    member_idx.push(m);
                }
            }
            let mut members: Vec<i64> = member_idx.iter().map(|&m| persons[m].id).collect();
            if i < 2 {
                members.push(demo.user1);
            }

            // Active window of the proposal; the first three span today.
            let (win_start, win_end) = if i < 3 {
                (today - Duration::days(730), today + Duration::days(365))
            } else {
                let start = ymd(2019, 1, 7)
                    + Duration::days(rng.random_range(0..=(ymd(2025, 6, 30) - ymd(2019, 1, 7)).num_days()));
                let end = (start + Duration::days(rng.random_range(730..=1095))).min(ymd(2027, 12, 20));
                (start, end)
            };
            let state = if win_end < today { "Closed" } else { "Open" };

            let catalogue = if kind == Kind::Em { EM_PROTEINS } else { MX_PROTEINS };
            let n_proteins = match kind {
                Kind::Mx => rng.random_range(2..=4),
                Kind::Em | Kind::Ssx => rng.random_range(1..=2),
            };
            let proteins: Vec<ProteinPlan> = rand::seq::index::sample(rng, catalogue.len(), n_proteins)
                .iter()
                .map(|c| ProteinPlan {
                    id: self.ids.take(T::Protein),
                    crystal: self.ids.take(T::Crystal),
                    cat: &catalogue[c],
                })
                .collect();
            let contacts: Vec<(i64, usize)> =
                member_idx.iter().take(2).map(|&m| (self.ids.take(T::LabContact), m)).collect();
            let title = {
                let protein = proteins[0].cat.name;
                let templates: &[&str] = match kind {
                    Kind::Mx => &[
                        "Crystal structure of {} in complex with fragments",
                        "Structural basis of {} inhibition",
                        "High-resolution structure of {}",
                        "Ligand screening on {}",
                        "Mechanism of {} activation",
                    ],
                    Kind::Em => &[
                        "Cryo-EM structure of {}",
                        "Conformational landscape of {} by single-particle cryo-EM",
                        "Assembly of {} studied by cryo-EM",
                    ],
                    Kind::Ssx => {
                        &["Time-resolved serial crystallography of {}", "Room-temperature serial crystallography of {}"]
                    }
                };
                templates[rng.random_range(0..templates.len())].replace("{}", protein)
            };

            // Sessions: dates in the window, sorted, some current and upcoming ones.
            let n_sessions: usize = rng.random_range(6..=14);
            let span = (win_end - win_start).num_days().max(1);
            let mut dates: Vec<NaiveDate> = (0..n_sessions)
                .map(|k| {
                    if k == 0 {
                        win_start + Duration::days(rng.random_range(0..30))
                    } else {
                        win_start + Duration::days(rng.random_range(0..span))
                    }
                })
                .collect();
            dates.sort();
            let mut current = None;
            if (i < 3 || i % 10 == 0) && win_start < today && today < win_end {
                let k = (0..n_sessions).min_by_key(|&k| (dates[k] - today).num_days().abs()).unwrap_or(0);
                dates[k] = today - Duration::days(1);
                current = Some(k);
                if i < 3 && !dates.iter().any(|d| *d > today) {
                    dates[n_sessions - 1] = today + Duration::days(14);
                }
            }
            let mut order: Vec<usize> = (0..n_sessions).collect();
            order.sort_by_key(|&k| (dates[k], k));
            let current = current.and_then(|c| order.iter().position(|&k| k == c));
            let mut dates: Vec<NaiveDate> = order.iter().map(|&k| dates[k]).collect();
            // A proposal's sessions do not overlap (a session lasts at most three days); the
            // current one stays where it is.
            let pivot = current.unwrap_or(0);
            for k in pivot + 1..n_sessions {
                dates[k] = dates[k].max(dates[k - 1] + Duration::days(4));
            }
            for k in (0..pivot).rev() {
                dates[k] = dates[k].min(dates[k + 1] - Duration::days(4));
            }

            let main_beamline = match kind {
                Kind::Mx => MX_BEAMLINES[rng.random_range(0..MX_BEAMLINES.len())],
                Kind::Em => EM_BEAMLINES[rng.random_range(0..EM_BEAMLINES.len())],
                Kind::Ssx => SSX_BEAMLINE,
            };
            let first_session = sessions.len();
            let local_contact = if kind == Kind::Em { demo.emstaff } else { demo.staff };
            let user2_session = if i == 2 { Some(current.unwrap_or(0)) } else { None };
            for (k, date) in dates.iter().enumerate() {
                let beamline = match kind {
                    Kind::Mx if rng.random_bool(0.3) => MX_BEAMLINES[rng.random_range(0..MX_BEAMLINES.len())],
                    Kind::Em if rng.random_bool(0.3) => EM_BEAMLINES[rng.random_range(0..EM_BEAMLINES.len())],
                    _ => main_beamline,
                };
                let shifts = if Some(k) == current { 9 } else { 3 * rng.random_range(1..=3) };
                let start = at(*date, 8);
                let end = start + Duration::hours(8 * i64::from(shifts));
                let n_samples = match kind {
                    Kind::Mx => rng.random_range(10..=16),
                    Kind::Em | Kind::Ssx => rng.random_range(4..=8),
                };
                let main_protein = rng.random_range(0..proteins.len());
                let samples: Vec<u8> = (0..n_samples)
                    .map(|_| {
                        if rng.random_bool(0.7) {
                            main_protein as u8
                        } else {
                            rng.random_range(0..proteins.len()) as u8
                        }
                    })
                    .collect();
                let mut people = vec![(local_contact, "Local Contact", false), (persons[pi].id, "Team Leader", false)];
                for &m in member_idx.iter().skip(1) {
                    if rng.random_bool(0.4) {
                        people.push((persons[m].id, "Co-Investigator", rng.random_bool(0.3)));
                    }
                }
                if i < 2 && (k == 0 || Some(k) == current || rng.random_bool(0.5)) {
                    people.push((demo.user1, "Co-Investigator", false));
                }
                if let (Some(user2), true) = (demo.user2, user2_session == Some(k)) {
                    people.push((user2, "Co-Investigator", true));
                }
                sessions.push(SessionPlan {
                    id: self.ids.take(T::Session),
                    proposal: i,
                    beamline,
                    start,
                    end,
                    visit: k as u32 + 1,
                    shifts,
                    dewar: 0,
                    container: self.ids.take(T::Container),
                    sc_location: rng.random_range(1..=29),
                    samples_first: self.ids.take_n(T::Sample, n_samples),
                    samples,
                    people,
                });
            }
            // One shipment (shipping and dewar) per three sessions.
            let mut ships = Vec::new();
            let mut k = first_session;
            while k < sessions.len() {
                let end = (k + 3).min(sessions.len());
                let ship =
                    ShipPlan { shipping: self.ids.take(T::Shipping), dewar: self.ids.take(T::Dewar), sessions: k..end };
                for s in &mut sessions[k..end] {
                    s.dewar = ship.dewar;
                }
                ships.push(ship);
                k = end;
            }
            proposals.push(ProposalPlan {
                id: self.ids.take(T::Proposal),
                kind,
                number,
                name,
                title,
                pi,
                members,
                lab: persons[pi].lab,
                created: at(win_start - Duration::days(60), 10),
                state,
                proteins,
                contacts,
                sessions: first_session..sessions.len(),
                ships,
            });
        }
        Plan { labs, persons, proposals, sessions }
    }

    fn emit_people(&mut self, sink: &mut Sink, plan: &Plan) {
        for &(id, cat) in &plan.labs {
            let (name, city, country, org) = LABS[cat];
            let address = format!("{} Science Park", self.rng.random_range(1..200));
            sink.push(T::Laboratory, row![id, name, address, city, country, org, at(ymd(2018, 6, 1), 9)]);
        }
        for p in &plan.persons {
            let email = format!("{}.{}@{}.example.org", p.given, p.family, p.lab).to_lowercase();
            let phone =
                format!("+33 4 76 {:02} {:02} {:02}", p.id % 100, (p.id / 100) % 100, self.rng.random_range(0..100));
            sink.push(
                T::Person,
                row![
                    p.id,
                    p.lab,
                    p.family,
                    p.given,
                    p.title,
                    email,
                    phone,
                    format!("p{:06}", p.id),
                    at(ymd(2018, 6, 1), 9)
                ],
            );
        }
    }

    fn emit_proposal(&mut self, sink: &mut Sink, plan: &Plan, p: &ProposalPlan) {
        let rng = &mut self.rng;
        let pi = &plan.persons[p.pi];
        sink.push(
            T::Proposal,
            row![
                p.id,
                pi.id,
                p.title.clone(),
                p.kind.code(),
                p.number.to_string(),
                if p.kind == Kind::Em { "EM" } else { "MX" },
                p.created,
                p.state
            ],
        );
        for &m in &p.members {
            sink.push(T::ProposalHasPerson, row![self.ids.take(T::ProposalHasPerson), p.id, m]);
        }
        for (n, &(id, person)) in p.contacts.iter().enumerate() {
            let person = &plan.persons[person];
            let mut card = format!("{} {}", person.given, person.family);
            if n > 0
                && p.contacts.first().is_some_and(|c| {
                    plan.persons[c.1].given == person.given && plan.persons[c.1].family == person.family
                })
            {
                card.push_str(" (2)");
            }
            let courier = ["DHL", "FedEx", "TNT", "UPS"][rng.random_range(0..4)];
            sink.push(
                T::LabContact,
                row![
                    id,
                    person.id,
                    card,
                    p.id,
                    courier,
                    format!("{}", rng.random_range(100_000..999_999)),
                    500u32,
                    150u32,
                    p.created
                ],
            );
        }
        for pr in &p.proteins {
            let c = pr.cat;
            let sequence: String = (0..rng.random_range(80..300))
                .map(|_| AMINO_ACIDS[rng.random_range(0..AMINO_ACIDS.len())] as char)
                .collect();
            sink.push(
                T::Protein,
                row![
                    pr.id,
                    p.id,
                    c.name,
                    c.acronym,
                    format!("{} from the {} project", c.name, p.name),
                    c.kda * 1000.0,
                    if p.kind == Kind::Em { "complex" } else { "protein" },
                    sequence,
                    pi.id,
                    p.created,
                    "GREEN"
                ],
            );
            let cell = |k: usize| if c.space_group.is_some() { Some(c.cell[k]) } else { None };
            sink.push(
                T::Crystal,
                row![
                    pr.crystal,
                    pr.id,
                    format!("{}-xtal", c.acronym),
                    c.space_group,
                    cell(0),
                    cell(1),
                    cell(2),
                    cell(3),
                    cell(4),
                    cell(5),
                    r(rng.random_range(0.02..0.3), 3),
                    r(rng.random_range(0.02..0.3), 3),
                    r(rng.random_range(0.02..0.3), 3),
                    p.created
                ],
            );
        }
        let contact = p.contacts.first().map(|c| c.0);
        for (n, ship) in p.ships.iter().enumerate() {
            let first = &plan.sessions[ship.sessions.start];
            let sent = first.start.date() - Duration::days(7);
            let arrived = first.start.date() - Duration::days(4);
            let days_since = (self.now.date() - first.start.date()).num_days();
            let status = match days_since {
                ..-7 => "opened",
                -7..0 => "sent to facility",
                0..30 => "at facility",
                _ => "returned",
            };
            sink.push(
                T::Shipping,
                row![
                    ship.shipping,
                    p.id,
                    format!("{}-shipment-{}", p.name, n + 1),
                    "DHL",
                    sent,
                    arrived,
                    status,
                    at(sent, 9),
                    p.lab,
                    at(sent - Duration::days(3), 14),
                    contact,
                    contact,
                    "DHL",
                    "Dewar",
                    "GREEN"
                ],
            );
            sink.push(
                T::Dewar,
                row![
                    ship.dewar,
                    ship.shipping,
                    format!("{}-D{}", p.name, n + 1),
                    if status == "at facility" { Some("Storage rack A") } else { None },
                    status,
                    at(sent, 9),
                    format!("DW{:08}", ship.dewar),
                    first.id,
                    1500u32,
                    300u32,
                    format!("TRK{:09}", ship.dewar)
                ],
            );
            for s in &plan.sessions[ship.sessions.clone()] {
                let (ty, capacity) = match p.kind {
                    Kind::Mx | Kind::Ssx => ("Unipuck", 16u32),
                    Kind::Em => ("Box", 12u32),
                };
                let barcode = format!("CT{:08}", s.container);
                sink.push(
                    T::Container,
                    row![
                        s.container,
                        s.dewar,
                        format!("{}-P{}", p.name, s.visit),
                        ty,
                        capacity,
                        s.beamline,
                        s.sc_location.to_string(),
                        if s.start <= self.now { "processing" } else { "at facility" },
                        at(sent, 9),
                        barcode,
                        s.id,
                        pi.id
                    ],
                );
                for (k, &prot) in s.samples.iter().enumerate() {
                    let protein = &p.proteins[prot as usize];
                    let loop_type = ["Nylon", "Litholoop", "Mesh", "MicroMount"][rng.random_range(0..4)];
                    sink.push(
                        T::Sample,
                        row![
                            s.samples_first + k as i64,
                            protein.crystal,
                            s.container,
                            sample_name(protein.cat, k),
                            format!("{}-{:02}", s.container, k + 1),
                            (k + 1).to_string(),
                            if p.kind == Kind::Em { None } else { Some(loop_type) },
                            if rng.random_bool(0.1) { Some("soaked 2 h in 10 mM ligand") } else { None },
                            if s.start <= self.now { Some("processed") } else { None },
                            false,
                            at(sent, 9)
                        ],
                    );
                }
            }
        }
        for s in &plan.sessions[p.sessions.clone()] {
            let operator = if p.kind == Kind::Em { EMSTAFF_NAME } else { STAFF_NAME };
            let used = s.start <= self.now;
            sink.push(
                T::Session,
                row![
                    s.id,
                    p.id,
                    s.start,
                    s.end,
                    s.beamline,
                    true,
                    s.shifts,
                    if rng.random_bool(0.05) { Some("Beam lost for two hours") } else { None },
                    operator,
                    s.visit,
                    p.created,
                    used,
                    s.end
                ],
            );
            for &(person, role, remote) in &s.people {
                sink.push(T::SessionHasPerson, row![s.id, person, role, remote]);
            }
        }
    }
}

fn sample_name(cat: &ProteinCat, k: usize) -> String {
    format!("{}-x{:02}", cat.acronym, k + 1)
}

// ---------------------------------------------------------------------------------------------
// Data collections.

/// Experiment types of MX data collection groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exp {
    Characterization,
    Osc,
    Mesh,
    Sad,
    Helical,
    Mad,
}

impl Exp {
    fn name(self) -> &'static str {
        match self {
            Exp::Characterization => "Characterization",
            Exp::Osc => "OSC",
            Exp::Mesh => "Mesh",
            Exp::Sad => "SAD",
            Exp::Helical => "Helical",
            Exp::Mad => "MAD",
        }
    }
}

const RUN_OK: &str = "Data collection successful";
const RUN_FAILED: &str = "Data collection failed";
const SYNCHROTRON_MODES: &[&str] = &["7/8 multibunch", "7/8 multibunch", "16 bunch", "4 bunch", "Uniform"];
const PROGRAMS: &[&str] =
    &["autoPROC", "XDSAPP", "EDNA_proc", "grenades_fastproc", "grenades_parallelproc", "xia2.dials"];
const DC_COMMENTS: &[&str] =
    &["Ice rings", "Weak diffraction", "Nice crystal", "Split spots", "Radiation damage visible"];

/// The columns of one `DataCollection` row that vary between experiments.
struct Dc {
    id: i64,
    group: i64,
    session: i64,
    sample: Option<i64>,
    sub_sample: Option<i64>,
    number: u32,
    start: NaiveDateTime,
    end: NaiveDateTime,
    status: &'static str,
    /// Start and width of each image, for rotation data.
    axis: Option<(f64, f64)>,
    overlap: Option<f64>,
    images: u32,
    exposure: f64,
    dir: String,
    prefix: String,
    suffix: &'static str,
    template: String,
    wavelength: f64,
    resolution: Option<f64>,
    distance: Option<f64>,
    beam: Option<(f64, f64)>,
    comments: Option<&'static str>,
    transmission: Option<f64>,
    synchrotron_mode: Option<&'static str>,
    snapshot: Option<String>,
    beam_size: Option<(f64, f64)>,
    flux: Option<f64>,
    experiment_type: &'static str,
    magnification: Option<u32>,
    voltage: Option<f64>,
}

impl Dc {
    fn push(&self, sink: &mut Sink) {
        let axis_end = self.axis.map(|(start, width)| r(start + width * f64::from(self.images), 2));
        let rotation = self.axis.map(|_| "Omega");
        sink.push(
            T::Dc,
            row![
                self.id,
                self.group,
                self.sub_sample,
                self.number,
                self.start,
                self.end,
                self.status,
                self.axis.map(|a| a.0),
                axis_end,
                self.axis.map(|a| a.1),
                self.overlap,
                self.images,
                1u32,
                1u32,
                self.exposure,
                self.dir.clone(),
                self.prefix.clone(),
                self.suffix,
                self.template.clone(),
                self.wavelength,
                self.resolution,
                self.distance,
                self.beam.map(|b| b.0),
                self.beam.map(|b| b.1),
                self.comments,
                self.transmission,
                self.synchrotron_mode,
                self.snapshot.clone(),
                rotation,
                self.axis.map(|_| 0.0),
                self.axis.map(|_| 0.0),
                self.axis.map(|a| a.0),
                self.resolution.map(|x| r(x * 0.82, 2)),
                self.beam_size.map(|b| b.0),
                self.beam_size.map(|b| b.1),
                self.flux,
                self.flux.map(|f| r(f * 0.98, 0)),
                self.sample,
                self.session,
                self.experiment_type,
                self.magnification,
                self.voltage
            ],
        );
    }
}

/// `2.3e12`-like flux values.
fn flux(rng: &mut StdRng) -> f64 {
    f64::from(rng.random_range(100..990u32)) * 10f64.powi(rng.random_range(9..=10))
}

impl Gen {
    /// One MX session: `quota` data collections in groups, on the session's samples, with
    /// screenings, processing, robot loads and the odd energy scan or fluorescence spectrum.
    fn mx_session(&mut self, sink: &mut Sink, p: &ProposalPlan, s: &SessionPlan, quota: u64) {
        let Gen { rng, ids, now } = self;
        let mut specs: Vec<(Exp, u32)> = Vec::new();
        let mut left = quota;
        while left > 0 {
            let (exp, n) = match rng.random_range(0..100) {
                0..25 => (Exp::Characterization, 1),
                25..68 => (Exp::Osc, if rng.random_bool(0.2) { 2 } else { 1 }),
                68..80 => (Exp::Mesh, 1),
                80..90 => (Exp::Sad, rng.random_range(1..=2)),
                90..95 => (Exp::Helical, 1),
                _ => (Exp::Mad, 3),
            };
            let n = n.min(left);
            specs.push((exp, n as u32));
            left -= n;
        }
        if specs.is_empty() {
            return;
        }
        let t0 = s.start + Duration::minutes(45);
        let t1 = s.end.min(*now) - Duration::minutes(5);
        let span = (t1 - t0).num_seconds().max(specs.len() as i64 * 240);
        let slot = span / specs.len() as i64;
        let n_samples = s.samples.len();
        let mut runs = vec![0u32; n_samples];
        let mut last_sample = usize::MAX;
        let mut energy_scan = false;
        let date = s.start.format("%Y%m%d").to_string();
        let bl = s.beamline.to_lowercase();
        let base_wavelength = match s.beamline {
            "BL01" => 0.9763,
            "BL02" => 0.8731,
            "BL03" => 1.0332,
            _ => 0.9677,
        };
        let mode = SYNCHROTRON_MODES[rng.random_range(0..SYNCHROTRON_MODES.len())];
        for (j, &(exp, n)) in specs.iter().enumerate() {
            let k = j * n_samples / specs.len();
            let sample = s.samples_first + k as i64;
            let protein = &p.proteins[s.samples[k] as usize];
            let name = sample_name(protein.cat, k);
            let sample_barcode = format!("{}-{:02}", s.container, k + 1);
            let group_start = t0 + Duration::seconds(slot * j as i64 + rng.random_range(0..=slot / 5));
            let dir = format!("/data/visitor/{}/{bl}/{date}/RAW_DATA/{}/{name}/", p.name, protein.cat.acronym);
            if k != last_sample {
                last_sample = k;
                if rng.random_bool(0.25) {
                    let ok = rng.random_bool(0.97);
                    sink.push(
                        T::RobotAction,
                        row![
                            ids.take(T::RobotAction),
                            s.id,
                            sample,
                            "LOAD",
                            group_start - Duration::seconds(95),
                            group_start - Duration::seconds(50),
                            if ok { "SUCCESS" } else { "ERROR" },
                            if ok { None } else { Some("Sample not found in gripper") },
                            (k + 1) as u32,
                            s.sc_location,
                            sample_barcode.clone()
                        ],
                    );
                }
                if rng.random_bool(0.03) {
                    let file = format!("{name}_xrf_1");
                    sink.push(
                        T::Xfe,
                        row![
                            ids.take(T::Xfe),
                            s.id,
                            sample,
                            format!("{dir}{file}.html"),
                            format!("{dir}{file}.raw"),
                            format!("{dir}{file}.png"),
                            group_start - Duration::seconds(40),
                            group_start - Duration::seconds(30),
                            file,
                            12.7,
                            1.0,
                            r(rng.random_range(0.5..10.0), 1),
                            0.02,
                            0.05,
                            dir.clone()
                        ],
                    );
                }
            }
            if matches!(exp, Exp::Sad | Exp::Mad) && !energy_scan {
                energy_scan = true;
                let file = format!("{name}_Se_edge");
                sink.push(
                    T::EnergyScan,
                    row![
                        ids.take(T::EnergyScan),
                        s.id,
                        sample,
                        "Amptek",
                        format!("{dir}{file}.raw"),
                        format!("{dir}{file}.efs"),
                        format!("{dir}{file}.png"),
                        "Se",
                        12.6,
                        12.72,
                        r(rng.random_range(0.5..5.0), 1),
                        1.0,
                        r(12.6625 + rng.random_range(-0.0015..0.0015), 4),
                        r(rng.random_range(-9.0..-7.0), 2),
                        r(rng.random_range(5.0..7.0), 2),
                        r(12.6595 + rng.random_range(-0.0015..0.0015), 4),
                        r(rng.random_range(-11.0..-9.0), 2),
                        r(rng.random_range(2.5..4.0), 2),
                        group_start - Duration::seconds(300),
                        group_start - Duration::seconds(120),
                        "K",
                        file,
                        0.02,
                        0.05
                    ],
                );
            }
            let group = ids.take(T::Group);
            let sub_sample = if exp == Exp::Mesh {
                let id = ids.take(T::SubSample);
                sink.push(
                    T::SubSample,
                    row![
                        id,
                        sample,
                        format!("{name}_mesh_snapshot.jpeg"),
                        format!("{dir}{name}_mesh_snapshot.jpeg"),
                        "Mesh area",
                        group_start
                    ],
                );
                Some(id)
            } else {
                None
            };
            let resolution_base = rng.random_range(1.2..3.2);
            let mut t = group_start;
            let mut first_dc = None;
            for d in 0..n {
                runs[k] += 1;
                let run = runs[k];
                let (images, width, exposure, overlap, wavelength, prefix) = match exp {
                    Exp::Characterization => (
                        4,
                        1.0,
                        *[0.05, 0.1, 0.2].choose(rng).unwrap_or(&0.1),
                        -89.0,
                        base_wavelength,
                        format!("ref-{name}"),
                    ),
                    Exp::Osc | Exp::Helical => {
                        let images = *[900u32, 1800, 3600].choose(rng).unwrap_or(&1800);
                        let width = if images == 900 { 0.2 } else { 0.1 };
                        let exposure = *[0.01, 0.02, 0.04].choose(rng).unwrap_or(&0.02);
                        (images, width, exposure, 0.0, base_wavelength, name.clone())
                    }
                    Exp::Mesh => {
                        let images = rng.random_range(5..=20) * rng.random_range(5..=30);
                        (images, 0.0, 0.02, 0.0, base_wavelength, format!("mesh-{name}"))
                    }
                    Exp::Sad => (3600, 0.1, 0.02, 0.0, 0.9792, name.clone()),
                    Exp::Mad => {
                        let w = [0.97925, 0.9794, 0.9537][d as usize % 3];
                        (720, 0.5, 0.05, 0.0, w, format!("{name}-{}", ["pk", "ip", "rm"][d as usize % 3]))
                    }
                };
                let failed = rng.random_bool(0.04);
                let images = if failed { images / rng.random_range(2..10) } else { images };
                let duration = (f64::from(images) * exposure) as i64 + 8;
                let resolution = r(resolution_base * rng.random_range(0.97..1.03), 2);
                let axis_start = if exp == Exp::Characterization { 0.0 } else { r(rng.random_range(0.0..360.0), 1) };
                let dc = Dc {
                    id: ids.take(T::Dc),
                    group,
                    session: s.id,
                    sample: Some(sample),
                    sub_sample,
                    number: run,
                    start: t,
                    end: t + Duration::seconds(duration),
                    status: if failed { RUN_FAILED } else { RUN_OK },
                    axis: Some((axis_start, width)),
                    overlap: Some(overlap),
                    images,
                    exposure,
                    template: format!("{prefix}_{run}_####.cbf"),
                    snapshot: Some(format!("{dir}{prefix}_{run}_1.snapshot.png")),
                    dir: dir.clone(),
                    prefix,
                    suffix: "cbf",
                    wavelength,
                    resolution: Some(resolution),
                    distance: Some(r(80.0 + 95.0 * resolution + rng.random_range(-5.0..5.0), 1)),
                    beam: Some((r(155.0 + rng.random_range(-0.5..0.5), 2), r(163.0 + rng.random_range(-0.5..0.5), 2))),
                    comments: if rng.random_bool(0.05) { DC_COMMENTS.choose(rng).copied() } else { None },
                    transmission: Some(r(rng.random_range(5.0..100.0), 1)),
                    synchrotron_mode: Some(mode),
                    beam_size: Some((0.05, 0.02)),
                    flux: Some(flux(rng)),
                    experiment_type: exp.name(),
                    magnification: None,
                    voltage: None,
                };
                dc.push(sink);
                t = dc.end + Duration::seconds(30);
                first_dc.get_or_insert(dc.id);
                let processed =
                    !failed && matches!(exp, Exp::Osc | Exp::Sad | Exp::Helical | Exp::Mad) && rng.random_bool(0.55);
                if processed {
                    autoproc(rng, ids, sink, &dc, protein.cat, matches!(exp, Exp::Sad | Exp::Mad));
                }
            }
            sink.push(
                T::Group,
                row![
                    group,
                    sample,
                    s.id,
                    exp.name(),
                    group_start,
                    t,
                    None::<&'static str>,
                    sample_barcode,
                    (k + 1) as u32,
                    format!("CT{:08}", s.container),
                    s.sc_location,
                    format!("{dir}{name}_snapshot.jpeg")
                ],
            );
            if exp == Exp::Characterization {
                let ok = rng.random_bool(0.9);
                sink.push(
                    T::Screening,
                    row![
                        ids.take(T::Screening),
                        group,
                        first_dc,
                        t + Duration::seconds(60),
                        "EDNA MXv1",
                        if ok { "Strategy found" } else { "Indexing failed" },
                        if ok { "EDNA MXv1" } else { "No strategy" }
                    ],
                );
            }
        }
    }

    /// One cryo-EM session: one group and data collection per grid square set, with movies,
    /// motion correction and CTF for each movie (`movies[i]` movies in data collection i).
    fn em_session(&mut self, sink: &mut Sink, p: &ProposalPlan, s: &SessionPlan, movies: &[u64]) {
        let Gen { rng, ids, now } = self;
        if movies.is_empty() {
            return;
        }
        let t0 = s.start + Duration::hours(2);
        let t1 = s.end.min(*now) - Duration::minutes(10);
        let span = (t1 - t0).num_seconds().max(movies.len() as i64 * 3600);
        let slot = span / movies.len() as i64;
        let date = s.start.format("%Y%m%d").to_string();
        let bl = s.beamline.to_lowercase();
        let magnification = *[105_000u32, 130_000, 165_000].choose(rng).unwrap_or(&130_000);
        for (d, &n) in movies.iter().enumerate() {
            let k = d % s.samples.len();
            let sample = s.samples_first + k as i64;
            let protein = &p.proteins[s.samples[k] as usize];
            let grid = sample_name(protein.cat, k);
            let raw = format!("/data/visitor/{}/{bl}/{date}/RAW_DATA/{grid}/", p.name);
            let processed = format!("/data/visitor/{}/{bl}/{date}/PROCESSED_DATA/{grid}/", p.name);
            let start = t0 + Duration::seconds(slot * d as i64);
            let interval = ((slot as f64 * 0.9) / n.max(1) as f64).clamp(20.0, 180.0) as i64;
            let end = start + Duration::seconds(interval * n as i64 + 60);
            let group = ids.take(T::Group);
            let dc = Dc {
                id: ids.take(T::Dc),
                group,
                session: s.id,
                sample: Some(sample),
                sub_sample: None,
                number: d as u32 + 1,
                start,
                end,
                status: RUN_OK,
                axis: None,
                overlap: None,
                images: n as u32,
                exposure: r(rng.random_range(1.5..4.0), 1),
                dir: raw.clone(),
                prefix: "FoilHole".into(),
                suffix: "tif",
                template: "FoilHole_#####_Data.tif".into(),
                wavelength: 0.0197,
                resolution: None,
                distance: None,
                beam: None,
                comments: None,
                transmission: None,
                synchrotron_mode: None,
                snapshot: None,
                beam_size: None,
                flux: None,
                experiment_type: "EM",
                magnification: Some(magnification),
                voltage: Some(300.0),
            };
            dc.push(sink);
            sink.push(
                T::Group,
                row![
                    group,
                    sample,
                    s.id,
                    "EM",
                    start,
                    end,
                    None::<&'static str>,
                    format!("{}-{:02}", s.container, k + 1),
                    (k + 1) as u32,
                    format!("CT{:08}", s.container),
                    s.sc_location,
                    None::<&'static str>
                ],
            );
            let dose = r(rng.random_range(0.8..1.3), 2);
            let frames = *[40u32, 50, 60].choose(rng).unwrap_or(&40);
            let first_square = rng.random_range(1000..9000);
            for m in 0..n {
                let movie = ids.take(T::Movie);
                let mc = ids.take(T::MotionCorrection);
                let created = start + Duration::seconds(interval * m as i64);
                let square = format!("GridSquare_{}", first_square + m / 25);
                let hole = format!("FoilHole_{}_{:05}", dc.id, m + 1);
                let movie_dir = format!("{raw}Images-Disc1/{square}/Data/");
                let mc_dir = format!("{processed}MotionCor/{square}/");
                let ctf_dir = format!("{processed}CTF/{square}/");
                sink.push(
                    T::Movie,
                    row![
                        movie,
                        dc.id,
                        m + 1,
                        format!("{movie_dir}{hole}_Data.tif"),
                        format!("{:.1}", rng.random_range(-500.0..500.0)),
                        format!("{:.1}", rng.random_range(-500.0..500.0)),
                        format!("{movie_dir}{hole}_Data.png"),
                        format!("{movie_dir}{hole}_Data_thumb.png"),
                        format!("{movie_dir}{hole}_Data.xml"),
                        format!("{dose:.2}"),
                        created
                    ],
                );
                let motion = rng.random_range(5.0..40.0);
                sink.push(
                    T::MotionCorrection,
                    row![
                        mc,
                        movie,
                        "1",
                        frames.to_string(),
                        format!("{dose:.2}"),
                        "1",
                        format!("{motion:.1}"),
                        format!("{:.2}", motion / f64::from(frames)),
                        format!("{mc_dir}{hole}_drift.png"),
                        format!("{mc_dir}{hole}_aligned_mic.mrc"),
                        format!("{mc_dir}{hole}_aligned_mic.png"),
                        format!("{mc_dir}{hole}_aligned_mic_DW.mrc"),
                        "5 x 5",
                        format!("{mc_dir}{hole}_motioncor.log"),
                        created + Duration::seconds(40)
                    ],
                );
                let defocus = rng.random_range(8000.0..30000.0);
                sink.push(
                    T::Ctf,
                    row![
                        ids.take(T::Ctf),
                        mc,
                        format!("{ctf_dir}{hole}_ctf.jpg"),
                        format!("{ctf_dir}{hole}_ctf.mrc"),
                        format!("{defocus:.0}"),
                        format!("{:.0}", defocus + rng.random_range(-600.0..600.0)),
                        format!("{:.1}", rng.random_range(-90.0..90.0)),
                        format!("{:.3}", rng.random_range(0.05..0.35)),
                        format!("{:.1}", rng.random_range(2.4..6.0)),
                        format!("{:.0}", rng.random_range(40.0..150.0)),
                        format!("{ctf_dir}{hole}_ctf.txt"),
                        created + Duration::seconds(70)
                    ],
                );
            }
        }
    }

    /// One SSX session: `n` data collections on chips or a jet, each with its SSX row.
    fn ssx_session(&mut self, sink: &mut Sink, p: &ProposalPlan, s: &SessionPlan, n: u64) {
        let Gen { rng, ids, now } = self;
        if n == 0 {
            return;
        }
        let t0 = s.start + Duration::hours(1);
        let t1 = s.end.min(*now) - Duration::minutes(10);
        let span = (t1 - t0).num_seconds().max(n as i64 * 1800);
        let slot = span / n as i64;
        let date = s.start.format("%Y%m%d").to_string();
        let jet = rng.random_bool(0.5);
        let mut group = 0;
        let mut group_left = 0;
        for d in 0..n {
            let k = (d as usize) % s.samples.len();
            let sample = s.samples_first + k as i64;
            let protein = &p.proteins[s.samples[k] as usize];
            let name = sample_name(protein.cat, k);
            let start = t0 + Duration::seconds(slot * d as i64);
            let images = rng.random_range(10..=100) * 1000;
            let exposure = if jet { 0.002 } else { 0.01 };
            let end = start + Duration::seconds((f64::from(images) * exposure) as i64 + 60);
            if group_left == 0 {
                group = ids.take(T::Group);
                group_left = rng.random_range(1..=3).min(n - d);
                sink.push(
                    T::Group,
                    row![
                        group,
                        sample,
                        s.id,
                        if jet { "SSX-Jet" } else { "SSX-Chip" },
                        start,
                        start + Duration::seconds(slot * group_left as i64),
                        None::<&'static str>,
                        None::<&'static str>,
                        None::<u32>,
                        None::<&'static str>,
                        None::<u32>,
                        None::<&'static str>
                    ],
                );
            }
            group_left -= 1;
            let dir = format!("/data/visitor/{}/bl05/{date}/RAW_DATA/{}/{name}/", p.name, protein.cat.acronym);
            let dc = Dc {
                id: ids.take(T::Dc),
                group,
                session: s.id,
                sample: Some(sample),
                sub_sample: None,
                number: d as u32 + 1,
                start,
                end,
                status: RUN_OK,
                axis: None,
                overlap: None,
                images,
                exposure,
                template: format!("{name}_{}_data_######.h5", d + 1),
                prefix: name.clone(),
                dir,
                suffix: "h5",
                wavelength: 0.9537,
                resolution: Some(r(rng.random_range(1.6..2.6), 2)),
                distance: Some(r(rng.random_range(120.0..250.0), 1)),
                beam: Some((r(80.0 + rng.random_range(-0.5..0.5), 2), r(85.0 + rng.random_range(-0.5..0.5), 2))),
                comments: None,
                transmission: Some(100.0),
                synchrotron_mode: Some("7/8 multibunch"),
                snapshot: None,
                beam_size: Some((0.004, 0.002)),
                flux: Some(flux(rng)),
                experiment_type: if jet { "SSX-Jet" } else { "SSX-Chip" },
                magnification: None,
                voltage: None,
            };
            dc.push(sink);
            let delay = rng.random_bool(0.5).then(|| *[0.01, 0.1, 1.0, 10.0, 100.0].choose(rng).unwrap_or(&1.0));
            sink.push(
                T::Ssx,
                row![
                    dc.id,
                    f64::from(*[100u32, 250, 500, 1000].choose(rng).unwrap_or(&250)),
                    0.01,
                    "Si111",
                    jet.then(|| r(rng.random_range(5.0..20.0), 1)),
                    jet.then(|| *[20.0, 50.0, 75.0].choose(rng).unwrap_or(&50.0)),
                    (!jet).then_some("full"),
                    (!jet).then_some("Oxford"),
                    delay,
                    delay.map(|_| r(rng.random_range(5.0..50.0), 1)),
                    match delay {
                        Some(ms) => format!("{name} pump-probe {ms} ms"),
                        None => format!("{name} dark"),
                    }
                ],
            );
        }
    }
}

/// Processing of one MX data collection: a program run and, when it succeeded, its result
/// (cell, integration, scaling with overall, inner and outer shell statistics).
fn autoproc(rng: &mut StdRng, ids: &mut Ids, sink: &mut Sink, dc: &Dc, cat: &ProteinCat, anomalous: bool) {
    let program = PROGRAMS[rng.random_range(0..PROGRAMS.len())];
    let app = ids.take(T::Program);
    let start = dc.end + Duration::minutes(2);
    let end = start + Duration::seconds(rng.random_range(300..1500));
    let ok = rng.random_bool(0.9);
    sink.push(
        T::Program,
        row![
            app,
            dc.id,
            format!("{program} -dc {} -dir {}", dc.id, dc.dir),
            program,
            if ok { "SUCCESS" } else { "FAILED" },
            if ok { None } else { Some("No indexing solution found") },
            start,
            end,
            "cluster: 16 cores",
            end
        ],
    );
    if !ok {
        return;
    }
    let noisy =
        |rng: &mut StdRng, x: f64| if x == 90.0 || x == 120.0 { x } else { r(x * rng.random_range(0.995..1.005), 2) };
    let cell: Vec<f64> = cat.cell.iter().map(|&x| noisy(rng, x)).collect();
    let space_group = cat.space_group.unwrap_or("P1");
    let auto_proc = ids.take(T::AutoProc);
    sink.push(
        T::AutoProc,
        row![auto_proc, app, space_group, cell[0], cell[1], cell[2], cell[3], cell[4], cell[5], end],
    );
    let scaling = ids.take(T::Scaling);
    sink.push(T::Scaling, row![scaling, auto_proc, end]);
    let integration = ids.take(T::Integration);
    sink.push(
        T::Integration,
        row![
            integration,
            dc.id,
            app,
            1u32,
            dc.images,
            dc.distance.map(|x| r(x + rng.random_range(-0.5..0.5), 2)),
            dc.beam.map(|b| r(b.0 + rng.random_range(-0.1..0.1), 2)),
            dc.beam.map(|b| r(b.1 + rng.random_range(-0.1..0.1), 2)),
            cell[0],
            cell[1],
            cell[2],
            cell[3],
            cell[4],
            cell[5],
            end,
            anomalous
        ],
    );
    sink.push(T::ScalingHasInt, row![ids.take(T::ScalingHasInt), scaling, integration, end]);
    let high = r(dc.resolution.unwrap_or(2.0) * rng.random_range(1.0..1.12), 2);
    let low = r(rng.random_range(35.0..55.0), 2);
    let multiplicity = rng.random_range(3.0..13.0);
    let unique = (rng.random_range(8_000.0..40_000.0) * (2.0 / high).powi(3)) as i64;
    // Type, low, high, Rmerge, completeness, I/sigma(I), CC1/2, share of the reflections.
    let shells = [
        (
            "overall",
            low,
            high,
            rng.random_range(0.04..0.15),
            rng.random_range(95.0..100.0),
            rng.random_range(6.0..20.0),
            rng.random_range(0.99..0.999),
            1.0,
        ),
        (
            "innerShell",
            low,
            r(high * 3.2, 2),
            rng.random_range(0.02..0.05),
            rng.random_range(98.0..100.0),
            rng.random_range(20.0..60.0),
            rng.random_range(0.998..1.0),
            0.05,
        ),
        (
            "outerShell",
            r(high * 1.05, 2),
            high,
            rng.random_range(0.5..2.5),
            rng.random_range(85.0..100.0),
            rng.random_range(0.8..2.5),
            rng.random_range(0.3..0.8),
            0.05,
        ),
    ];
    for (ty, lo, hi, rmerge, completeness, i_sigma, cc_half, share) in shells {
        let n_unique = (unique as f64 * share) as i64;
        let m = r(multiplicity * rng.random_range(0.9..1.1), 1);
        sink.push(
            T::Statistics,
            row![
                ids.take(T::Statistics),
                scaling,
                ty,
                lo,
                hi,
                r(rmerge, 3),
                r(rmerge * 1.1, 3),
                r(rmerge * 0.45, 3),
                (n_unique as f64 * m) as i64,
                n_unique,
                r(i_sigma, 1),
                r(completeness, 1),
                m,
                anomalous.then(|| r(completeness - 1.5, 1)),
                anomalous.then(|| r(m / 2.0, 1)),
                end,
                anomalous,
                r(cc_half, 3),
                anomalous.then(|| r(rng.random_range(0.2..0.6), 2))
            ],
        );
    }
}

/// Image paths the demo data points to (EM thumbnails, drift plots, CTF spectra, crystal
/// snapshots), so the demo can draw a placeholder at each and the EM pages show pictures.
pub async fn demo_image_paths(db: &Db) -> crate::Result<Vec<String>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT path FROM (
           (SELECT micrographSnapshotFullPath AS path FROM Movie WHERE micrographSnapshotFullPath IS NOT NULL LIMIT 500)
           UNION ALL (SELECT micrographSnapshotFullPath FROM MotionCorrection WHERE micrographSnapshotFullPath IS NOT NULL LIMIT 500)
           UNION ALL (SELECT driftPlotFullPath FROM MotionCorrection WHERE driftPlotFullPath IS NOT NULL LIMIT 500)
           UNION ALL (SELECT spectraImageThumbnailFullPath FROM CTF WHERE spectraImageThumbnailFullPath IS NOT NULL LIMIT 500)
           UNION ALL (SELECT spectraImageFullPath FROM CTF WHERE spectraImageFullPath IS NOT NULL LIMIT 500)
           UNION ALL (SELECT xtalSnapshotFullPath1 FROM DataCollection WHERE xtalSnapshotFullPath1 IS NOT NULL LIMIT 500)
         ) paths",
    )
    .fetch_all(db.pool())
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::TABLES;

    #[test]
    fn every_seeded_column_is_modelled() {
        for spec in &SPECS {
            let table =
                TABLES.iter().find(|t| t.name == spec.name).unwrap_or_else(|| panic!("{} not modelled", spec.name));
            for col in spec.cols.iter().chain(spec.id.iter()) {
                let column = table.column(col).unwrap_or_else(|| panic!("{}.{col} not modelled", spec.name));
                assert!(column.ispyb_type.is_some(), "{}.{col} is not in the ispyb flavour", spec.name);
            }
            assert!(table.in_ispyb, "{}", spec.name);
            // Columns that must be given are given.
            for c in table.columns {
                if !c.nullable && c.default.is_none() && !c.extra.contains("auto_increment") && c.ispyb_type.is_some() {
                    assert!(spec.cols.contains(&c.name), "{}.{} is NOT NULL without default", spec.name, c.name);
                }
            }
        }
    }

    #[test]
    fn split_adds_up() {
        let mut rng = StdRng::seed_from_u64(1);
        for (total, n) in [(0, 3), (1000, 7), (5, 9), (1_000_000, 11_000)] {
            let parts = split(&mut rng, total, n);
            assert_eq!(parts.len(), n);
            assert_eq!(parts.iter().sum::<u64>(), total);
        }
        assert!(split(&mut rng, 10, 0).is_empty());
    }

    #[test]
    fn beamline_groups_fit_admin_var() {
        let json = beamline_groups();
        assert!(json.len() < 1024, "{json}");
        let groups: Vec<crate::options::BeamLineGroup> = serde_json::from_str(&json).unwrap();
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[1].beam_lines.len(), 2);
    }
}
