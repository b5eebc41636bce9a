//! The authorization matrix: every protected route, every kind of caller. Each cell asserts the
//! status and, for lists, exactly which rows come back. A route in the OpenAPI document that is
//! not in `ROUTES` fails `every_protected_route_is_in_the_matrix`, so new routes must join.

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::helpers::TestApp;

/// Kinds of caller, over the real test data (proposal MX1 = 9096 with sessions 70565..70568).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Anonymous,
    Malformed,
    Expired,
    /// darwin: on sessions 70565 (BL01) and 70567 (BL02) through Session_has_Person.
    SessionMember,
    /// pasteur: on MX1 through ProposalHasPerson.
    ProposalMember,
    /// curie: on nothing.
    Unrelated,
    /// efgh with bl_admin, the permission of the group of beamline BL01.
    BeamlineStaff,
    /// newton with all_proposals.
    AllProposals,
}

const CALLERS: [Who; 8] = [
    Who::Anonymous,
    Who::Malformed,
    Who::Expired,
    Who::SessionMember,
    Who::ProposalMember,
    Who::Unrelated,
    Who::BeamlineStaff,
    Who::AllProposals,
];

/// What a caller gets from a route.
enum Expect {
    /// A list whose rows have exactly these ids (under `key`).
    Rows(&'static [u64]),
    /// One object.
    Found,
    /// 404.
    Hidden,
    /// 403 (a missing permission; a legacy route's hidden proposal).
    Refused,
    /// A bare array (a legacy list) whose rows have exactly these ids under `key`, in any order.
    List(&'static [u64]),
}

/// A protected route: method and path as in the OpenAPI document, the concrete request (and
/// body, where `{who}` becomes the caller's name so each write is distinct), the row id key for
/// lists, and the expectation for each authenticated caller. Reads run before writes.
struct Route {
    method: &'static str,
    template: &'static str,
    request: &'static str,
    body: &'static str,
    key: &'static str,
    expect: fn(Who) -> Expect,
}

/// Who may see proposal MX1 (9096).
fn sees_mx1(w: Who) -> Expect {
    match w {
        Who::Unrelated => Expect::Hidden,
        _ => Expect::Found,
    }
}

/// Who may see proposal blc00001 (1), whose shipment, dewar and container the data has.
fn sees_blc(w: Who) -> Expect {
    match w {
        Who::AllProposals => Expect::Found,
        _ => Expect::Hidden,
    }
}

const ROUTES: &[Route] = &[
    Route {
        method: "GET",
        body: "",
        template: "/proposals",
        request: "/proposals",
        key: "proposalId",
        expect: |w| match w {
            Who::SessionMember | Who::ProposalMember | Who::BeamlineStaff => Expect::Rows(&[9096]),
            Who::AllProposals => Expect::Rows(&[9096, 1]),
            _ => Expect::Rows(&[]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/proposals/{proposal}",
        request: "/proposals/MX1",
        key: "",
        expect: |w| match w {
            Who::Unrelated => Expect::Hidden,
            _ => Expect::Found,
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions",
        request: "/sessions?limit=100",
        key: "sessionId",
        expect: |w| match w {
            Who::SessionMember => Expect::Rows(&[70565, 70567]),
            Who::ProposalMember => Expect::Rows(&[70568, 70566, 70565, 70567]),
            Who::BeamlineStaff => Expect::Rows(&[70568, 70566, 70565]),
            Who::AllProposals => Expect::Rows(&[1, 70568, 70566, 70565, 70567]),
            _ => Expect::Rows(&[]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions/group",
        request: "/sessions/group?beamLineGroup=BL01%20staff",
        key: "sessionId",
        expect: |w| match w {
            Who::SessionMember => Expect::Rows(&[70565]),
            Who::ProposalMember | Who::BeamlineStaff | Who::AllProposals => Expect::Rows(&[70568]),
            _ => Expect::Rows(&[]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions/{sessionId}",
        request: "/sessions/70567",
        key: "",
        expect: |w| match w {
            Who::SessionMember | Who::ProposalMember | Who::AllProposals => Expect::Found,
            _ => Expect::Hidden,
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/sessions/{sessionId}",
        request: "/sessions/70566",
        key: "",
        expect: |w| match w {
            Who::ProposalMember | Who::BeamlineStaff | Who::AllProposals => Expect::Found,
            _ => Expect::Hidden,
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/user/current",
        request: "/user/current",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/persons",
        request: "/persons",
        key: "personId",
        expect: |w| match w {
            Who::Unrelated => Expect::Rows(&[]),
            Who::AllProposals => Expect::Rows(&[1, 404290, 404300]),
            _ => Expect::Rows(&[404290, 404300]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/labcontacts",
        request: "/labcontacts",
        key: "labContactId",
        expect: |w| match w {
            Who::Unrelated => Expect::Rows(&[]),
            _ => Expect::Rows(&[273118]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/labcontacts/{labContactId}",
        request: "/labcontacts/273118",
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/shippings",
        request: "/shippings",
        key: "shippingId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route {
        method: "GET",
        body: "",
        template: "/shippings/{shippingId}",
        request: "/shippings/1",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/dewars",
        request: "/dewars",
        key: "dewarId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route { method: "GET", body: "", template: "/dewars/{dewarId}", request: "/dewars/1", key: "", expect: sees_blc },
    Route {
        method: "GET",
        body: "",
        template: "/containers",
        request: "/containers",
        key: "containerId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route {
        method: "GET",
        body: "",
        template: "/containers/{containerId}",
        request: "/containers/1",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "POST",
        template: "/labcontacts",
        request: "/labcontacts",
        body: r#"{"proposalId": 9096, "cardName": "{who}", "Person": {"givenName": "A", "familyName": "{who}"}}"#,
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "PATCH",
        template: "/labcontacts/{labContactId}",
        request: "/labcontacts/273118",
        body: r#"{"courierAccount": "{who}"}"#,
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "POST",
        template: "/shippings",
        request: "/shippings",
        body: r#"{"proposalId": 9096, "shippingName": "{who}", "sendingLabContactId": 273118, "returnLabContactId": 273118}"#,
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "PATCH",
        template: "/shippings/{shippingId}",
        request: "/shippings/1",
        body: r#"{"comments": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "POST",
        template: "/dewars",
        request: "/dewars",
        body: r#"{"shippingId": 1, "code": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "PATCH",
        template: "/dewars/{dewarId}",
        request: "/dewars/1",
        body: r#"{"code": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "POST",
        template: "/containers",
        request: "/containers",
        body: r#"{"dewarId": 1, "code": "{who}", "containerType": "Puck"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "PATCH",
        template: "/containers/{containerId}",
        request: "/containers/1",
        body: r#"{"code": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/proteins",
        request: "/proteins?search=comp",
        key: "proteinId",
        expect: |w| match w {
            Who::SessionMember | Who::ProposalMember | Who::BeamlineStaff => Expect::Rows(&[382906]),
            Who::AllProposals => Expect::Rows(&[1, 382906]),
            _ => Expect::Rows(&[]),
        },
    },
    Route {
        method: "GET",
        body: "",
        template: "/proteins/{proteinId}",
        request: "/proteins/382871",
        key: "",
        expect: sees_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples",
        request: "/samples",
        key: "blSampleId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/{blSampleId}",
        request: "/samples/1",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/sub",
        request: "/samples/sub",
        key: "blSubSampleId",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1, 2, 3] } else { &[] }),
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/sub/{blSubSampleId}",
        request: "/samples/sub/1",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/images",
        request: "/samples/images",
        key: "blSampleImageId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/images/{blSampleImageId}",
        request: "/samples/images/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/components",
        request: "/samples/components",
        key: "componentId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/components/types",
        request: "/samples/components/types",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/samples/concentration/types",
        request: "/samples/concentration/types",
        key: "",
        expect: |_| Expect::Found,
    },
    // Only newton (all_proposals) may write to blc00001: his sample is BLSample 2, deleted below.
    Route {
        method: "POST",
        template: "/samples",
        request: "/samples",
        body: r#"{"name": "{who}", "Crystal": {"crystalId": 1}, "containerId": 1}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "PATCH",
        template: "/samples/{blSampleId}",
        request: "/samples/1",
        body: r#"{"comments": "{who}"}"#,
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "DELETE",
        template: "/samples/{blSampleId}",
        request: "/samples/2",
        body: "",
        key: "",
        expect: sees_blc,
    },
    // Data collections, events and processing: the test data has one data collection (1, in
    // blc00001's session 1) and no files, so file routes are 404 for everyone here; their
    // authorization is tested with files in events.rs, datacollections.rs and processings.rs.
    Route {
        method: "GET",
        body: "",
        template: "/events",
        request: "/events?limit=100",
        key: "id",
        expect: |w| Expect::Rows(if w == Who::AllProposals { &[1] } else { &[] }),
    },
    Route {
        method: "GET",
        body: "",
        template: "/events/types",
        request: "/events/types",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/attachments",
        request: "/datacollections/attachments",
        key: "dataCollectionFileAttachmentId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/attachments/{dataCollectionFileAttachmentId}",
        request: "/datacollections/attachments/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/quality",
        request: "/datacollections/quality?dataCollectionId=1",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/workflows/steps",
        request: "/datacollections/workflows/steps",
        key: "workflowStepId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/workflows/steps/{workflowStepId}",
        request: "/datacollections/workflows/steps/1?attachmentType=resultFilePath",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/images/{dataCollectionId}",
        request: "/datacollections/images/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/images/diffraction/{dataCollectionId}",
        request: "/datacollections/images/diffraction/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/datacollections/images/quality/{dataCollectionId}",
        request: "/datacollections/images/quality/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings/status",
        request: "/processings/status?dataCollectionIds=%5B1%5D",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings/messages/status",
        request: "/processings/messages/status?dataCollectionIds=%5B1%5D",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings/messages",
        request: "/processings/messages",
        key: "autoProcProgramMessageId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings",
        request: "/processings",
        key: "autoProcProgramId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings/auto-integrations",
        request: "/processings/auto-integrations",
        key: "autoProcProgramId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings/screenings",
        request: "/processings/screenings",
        key: "screeningId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings/attachments",
        request: "/processings/attachments",
        key: "autoProcProgramAttachmentId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/processings/attachments/{autoProcProgramAttachmentId}",
        request: "/processings/attachments/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/stats/breakdown",
        request: "/stats/breakdown?sessionId=1",
        key: "",
        expect: |w| if w == Who::AllProposals { Expect::Found } else { Expect::Hidden },
    },
    Route {
        method: "GET",
        body: "",
        template: "/stats/times",
        request: "/stats/times?sessionId=1",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/stats/errors",
        request: "/stats/errors?sessionId=1",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/stats/hourlies",
        request: "/stats/hourlies?sessionId=1",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/stats/parameters/histogram",
        request: "/stats/parameters/histogram?sessionId=1",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/stats/runs",
        request: "/stats/runs",
        key: "runId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/data/images",
        request: "/data/images?dataCollectionId=1&imageNumber=1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/data/images/header",
        request: "/data/images/header?dataCollectionId=1&imageNumber=1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/data/images/histogram",
        request: "/data/images/histogram?dataCollectionId=1&imageNumber=1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/mapping",
        request: "/mapping",
        key: "xrfFluorescenceMappingId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/mapping/rois",
        request: "/mapping/rois",
        key: "xrfFluorescenceMappingROIId",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/mapping/histogram/{xrfFluorescenceMappingId}",
        request: "/mapping/histogram/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/mapping/pixel/{xrfFluorescenceMappingId}",
        request: "/mapping/pixel/1?x=0&y=0",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/mapping/{xrfFluorescenceMappingId}",
        request: "/mapping/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    // Cryo-EM: the test data has no EM rows (authorization with rows is tested in em.rs).
    Route {
        method: "GET",
        body: "",
        template: "/em/sessions/{sessionId}/summary",
        request: "/em/sessions/70565/summary",
        key: "",
        expect: sees_70565,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/datacollections/stats",
        request: "/em/datacollections/stats?dataCollectionIds=1",
        key: "",
        expect: |_| Expect::Found,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/movies",
        request: "/em/movies?sessionId=70565",
        key: "",
        expect: |w| if w == Who::Unrelated { Expect::Hidden } else { Expect::Rows(&[]) },
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/movies/{movieId}",
        request: "/em/movies/1",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/movies/{movieId}/thumbnail",
        request: "/em/movies/1/thumbnail",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/movies/{movieId}/micrograph",
        request: "/em/movies/1/micrograph",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/movies/{movieId}/ctf",
        request: "/em/movies/1/ctf",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/movies/{movieId}/fft",
        request: "/em/movies/1/fft",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/movies/{movieId}/drift",
        request: "/em/movies/1/drift",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/datacollections/{dataCollectionId}/series",
        request: "/em/datacollections/1/series",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/sessions/{sessionId}/series",
        request: "/em/sessions/70565/series",
        key: "",
        expect: sees_70565,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/datacollections/{dataCollectionId}/statistics",
        request: "/em/datacollections/1/statistics",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/sessions/{sessionId}/statistics",
        request: "/em/sessions/70565/statistics",
        key: "",
        expect: sees_70565,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/datacollections/{dataCollectionId}/histogram",
        request: "/em/datacollections/1/histogram?field=resolution",
        key: "",
        expect: sees_blc,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/sessions/{sessionId}/histogram",
        request: "/em/sessions/70565/histogram?field=totalMotion",
        key: "",
        expect: sees_70565,
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/classification",
        request: "/em/classification?sessionId=70565",
        key: "",
        expect: |_| Expect::Rows(&[]),
    },
    Route {
        method: "GET",
        body: "",
        template: "/em/classification/{particleClassificationId}/image",
        request: "/em/classification/1/image",
        key: "",
        expect: |_| Expect::Hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/datacollection/{dataCollectionId}/movies",
        request: "/legacy/em/proposal/MX1/datacollection/1/movies",
        key: "",
        expect: legacy_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/movie/{movieId}/thumbnail",
        request: "/legacy/em/proposal/MX1/movie/1/thumbnail",
        key: "",
        expect: legacy_mx1_hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/movie/{movieId}/thumbnail/motioncorrection",
        request: "/legacy/em/proposal/MX1/movie/1/thumbnail/motioncorrection",
        key: "",
        expect: legacy_mx1_hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/movie/{movieId}/thumbnail/ctf",
        request: "/legacy/em/proposal/MX1/movie/1/thumbnail/ctf",
        key: "",
        expect: legacy_mx1_hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/movie/{movieId}/plot/motioncorrectiondrift",
        request: "/legacy/em/proposal/MX1/movie/1/plot/motioncorrectiondrift",
        key: "",
        expect: legacy_mx1_hidden,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/session/{sessionId}/stats",
        request: "/legacy/em/session/70565/stats",
        key: "",
        expect: sees_70565,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/data_collections/{dataCollectionId}/stats",
        request: "/legacy/em/proposal/MX1/data_collections/1/stats",
        key: "",
        expect: legacy_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/data_collections_group/{dataCollectionGroupId}/stats",
        request: "/legacy/em/proposal/MX1/data_collections_group/1/stats",
        key: "",
        expect: legacy_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/session/{sessionId}/data_collections/groups",
        request: "/legacy/em/proposal/MX1/session/70565/data_collections/groups",
        key: "",
        expect: legacy_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/session/{sessionId}/classification",
        request: "/legacy/em/session/70565/classification",
        key: "",
        expect: sees_70565,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/em/proposal/{proposal}/classification/{particleClassificationId}/thumbnail",
        request: "/legacy/em/proposal/MX1/classification/1/thumbnail",
        key: "",
        expect: legacy_mx1_hidden,
    },
    // py-ISPyB's header-token legacy routes (src/legacy/py.rs).
    Route {
        method: "GET",
        body: "",
        template: "/legacy/proposals",
        request: "/legacy/proposals",
        key: "Proposal_proposalId",
        expect: legacy_proposals,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/proposals/{proposal_id}",
        request: "/legacy/proposals/mx1",
        key: "",
        expect: legacy_mx1,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/sessions",
        request: "/legacy/sessions",
        key: "sessionId",
        expect: legacy_sessions,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/sessions/date/{start_date}/{end_date}",
        request: "/legacy/sessions/date/20160101/20171231",
        key: "sessionId",
        expect: legacy_mx1_sessions_or_none,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/sessions/proposal/{proposal_id}",
        request: "/legacy/sessions/proposal/9096",
        key: "sessionId",
        expect: legacy_mx1_sessions,
    },
    Route {
        method: "GET",
        body: "",
        template: "/legacy/data_collections/groups/session/{session_id}",
        request: "/legacy/data_collections/groups/session/70567",
        key: "",
        expect: sees_70567,
    },
    // Ingestion needs `em_ingest`, which no caller here has.
    Route {
        method: "POST",
        template: "/webservices/em/movies",
        request: "/webservices/em/movies",
        body: r#"{"dataCollectionId": 1, "movieFullPath": "/{who}.tif"}"#,
        key: "",
        expect: |_| Expect::Refused,
    },
    Route {
        method: "POST",
        template: "/webservices/em/motion-corrections",
        request: "/webservices/em/motion-corrections",
        body: r#"{"movieId": 1}"#,
        key: "",
        expect: |_| Expect::Refused,
    },
    Route {
        method: "POST",
        template: "/webservices/em/ctfs",
        request: "/webservices/em/ctfs",
        body: r#"{"motionCorrectionId": 1}"#,
        key: "",
        expect: |_| Expect::Refused,
    },
];

/// Who may see session 70565 (MX1, beamline BL01; darwin is on it).
fn sees_70565(w: Who) -> Expect {
    match w {
        Who::Unrelated => Expect::Hidden,
        _ => Expect::Found,
    }
}

/// A legacy list under proposal MX1: 403 for who may not see the proposal.
fn legacy_mx1(w: Who) -> Expect {
    match w {
        Who::Unrelated => Expect::Refused,
        _ => Expect::Found,
    }
}

/// A legacy file under proposal MX1 that is not there.
fn legacy_mx1_hidden(w: Who) -> Expect {
    match w {
        Who::Unrelated => Expect::Refused,
        _ => Expect::Hidden,
    }
}

/// Routes that need authentication but act on the caller only, covered in auth.rs.
const NOT_ROW_FILTERED: &[&str] = &["/user/sign", "/auth/refresh"];

async fn token_for(app: &TestApp, who: Who) -> Option<String> {
    match who {
        Who::Anonymous => None,
        Who::Malformed => Some("not.a.token".into()),
        Who::Expired => {
            use jsonwebtoken::{EncodingKey, Header, encode};
            let claims =
                json!({"login": "newton", "personId": 404304, "permissions": ["all_proposals"], "iat": 1, "exp": 2});
            Some(encode(&Header::default(), &claims, &EncodingKey::from_secret(b"test-secret-key-0123456789")).unwrap())
        }
        Who::SessionMember => Some(app.login("darwin").await),
        Who::ProposalMember => Some(app.login("pasteur").await),
        Who::Unrelated => Some(app.login("curie").await),
        Who::BeamlineStaff => Some(app.login("efgh").await),
        Who::AllProposals => Some(app.login("newton").await),
    }
}

#[tokio::test]
async fn every_caller_sees_exactly_what_the_rules_allow() {
    let app = TestApp::ispyb().await;
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('beamLineGroups', ?)")
        .bind(r#"[{"groupName":"BL01 staff","uiGroup":"mx","permission":"bl_admin","beamLines":[{"beamLineName":"BL01"}]}]"#)
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    app.grant("efgh", "bl_admin").await;
    app.grant("newton", "all_proposals").await;
    let mut failures = Vec::new();
    let mut tokens = Vec::new();
    for who in CALLERS {
        tokens.push((who, token_for(&app, who).await));
    }
    // Reads first (their row lists are exact), then writes.
    let ordered = ROUTES.iter().filter(|r| r.method == "GET").chain(ROUTES.iter().filter(|r| r.method != "GET"));
    for route in ordered {
        for (who, token) in &tokens {
            let who = *who;
            let body = (!route.body.is_empty())
                .then(|| serde_json::from_str::<Value>(&route.body.replace("{who}", &format!("{who:?}"))).unwrap());
            let method = Method::from_bytes(route.method.as_bytes()).unwrap();
            let r = app.request(method, &format!("/ispyb/api/v1{}", route.request), token.as_deref(), body).await;
            let cell = format!("{who:?} {} {}", route.method, route.request);
            if matches!(who, Who::Anonymous | Who::Malformed | Who::Expired) {
                if r.status != StatusCode::UNAUTHORIZED {
                    failures.push(format!("{cell}: {} instead of 401", r.status));
                }
                continue;
            }
            match (route.expect)(who) {
                Expect::Rows(ids) => {
                    let got: Vec<u64> = r.json["results"]
                        .as_array()
                        .map_or_else(Vec::new, |rows| rows.iter().filter_map(|x| x[route.key].as_u64()).collect());
                    if r.status != StatusCode::OK || got != ids {
                        failures.push(format!("{cell}: {} {got:?}, expected 200 {ids:?}", r.status));
                    }
                    if r.json["total"].as_u64() != Some(ids.len() as u64) {
                        failures.push(format!("{cell}: total {} for {} rows", r.json["total"], ids.len()));
                    }
                }
                Expect::Found if !r.status.is_success() => {
                    failures.push(format!("{cell}: {} instead of 2xx: {}", r.status, r.text))
                }
                Expect::Hidden if r.status != StatusCode::NOT_FOUND => {
                    failures.push(format!("{cell}: {} instead of 404", r.status))
                }
                Expect::Refused if r.status != StatusCode::FORBIDDEN => {
                    failures.push(format!("{cell}: {} instead of 403", r.status))
                }
                Expect::List(ids) => check_list(&mut failures, &cell, &r, route.key, ids),
                _ => {}
            }
        }
    }
    assert!(failures.is_empty(), "{} cells failed:\n{}", failures.len(), failures.join("\n"));
    app.finish().await;
}

#[tokio::test]
async fn every_protected_route_is_in_the_matrix() {
    let app = TestApp::ispyb().await;
    let doc = app.get("/openapi.json", None).await.json;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let secured = op.get("security").and_then(Value::as_array).is_some_and(|s| !s.is_empty());
            let Some(route) = path.strip_prefix("/ispyb/api/v1") else { continue };
            if !secured || NOT_ROW_FILTERED.contains(&route) {
                continue;
            }
            if !ROUTES.iter().any(|r| r.template == route && r.method.eq_ignore_ascii_case(method)) {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "add these routes to tests/api/matrix.rs ROUTES: {missing:?}");
    app.finish().await;
}

// ---------------------------------------------------------------------------------------------
// Legacy routes (Java ISPyB's): the caller's rows, and the token in the path.
// ---------------------------------------------------------------------------------------------

/// Checks a bare JSON array's ids (under `key`) against the expected set.
fn check_list(failures: &mut Vec<String>, cell: &str, r: &crate::helpers::Reply, key: &str, ids: &[u64]) {
    let mut got: Vec<u64> =
        r.json.as_array().map_or_else(Vec::new, |rows| rows.iter().filter_map(|x| x[key].as_u64()).collect());
    got.sort_unstable();
    let mut want = ids.to_vec();
    want.sort_unstable();
    if r.status != StatusCode::OK || !r.json.is_array() || got != want {
        failures.push(format!("{cell}: {} {got:?}, expected 200 {want:?}", r.status));
    }
}

/// The proposals a legacy caller sees (owners and members, sessions, beamlines, all).
fn legacy_proposals(w: Who) -> Expect {
    match w {
        Who::SessionMember | Who::ProposalMember | Who::BeamlineStaff => Expect::List(&[9096]),
        Who::AllProposals => Expect::List(&[9096, 1]),
        _ => Expect::List(&[]),
    }
}

/// Every session a legacy caller sees.
fn legacy_sessions(w: Who) -> Expect {
    match w {
        Who::AllProposals => Expect::List(&[1, 70565, 70566, 70567, 70568]),
        other => legacy_mx1_sessions_or_none(other),
    }
}

/// The sessions of MX1 a legacy caller sees; nothing for the others.
fn legacy_mx1_sessions_or_none(w: Who) -> Expect {
    match w {
        Who::Unrelated => Expect::List(&[]),
        other => legacy_mx1_sessions(other),
    }
}

/// The sessions of MX1 a legacy caller sees; 403 for who may not see MX1.
fn legacy_mx1_sessions(w: Who) -> Expect {
    match w {
        Who::SessionMember => Expect::List(&[70565, 70567]),
        Who::ProposalMember | Who::AllProposals => Expect::List(&[70565, 70566, 70567, 70568]),
        Who::BeamlineStaff => Expect::List(&[70565, 70566, 70568]),
        _ => Expect::Refused,
    }
}

/// Session 70566 of MX1 (BL01, darwin is not on it), as a one-row list.
fn legacy_session_70566(w: Who) -> Expect {
    match w {
        Who::SessionMember => Expect::List(&[]),
        Who::Unrelated => Expect::Refused,
        _ => Expect::List(&[70566]),
    }
}

/// Who may see session 70567 (MX1, beamline BL02; darwin is on it).
fn sees_70567(w: Who) -> Expect {
    match w {
        Who::SessionMember | Who::ProposalMember | Who::AllProposals => Expect::Found,
        _ => Expect::Hidden,
    }
}

/// Who may write on session 70566 of MX1 (not darwin, who is only on 70565 and 70567).
fn writes_70566(w: Who) -> Expect {
    match w {
        Who::SessionMember => Expect::Hidden,
        Who::Unrelated => Expect::Refused,
        _ => Expect::Found,
    }
}

/// A list under blc00001, which only `all_proposals` sees; its group and collection are 1.
fn legacy_blc_rows(w: Who) -> Expect {
    match w {
        Who::AllProposals => Expect::List(&[1]),
        _ => Expect::Refused,
    }
}

/// A route with the token in its path, as its OpenAPI template (below `{API_ROOT}/legacy`
/// and, the same, below `/ispyb/ispyb-ws/rest`), the request (`{token}` is replaced), a form
/// body for writes, the id key of lists and the expectation per caller.
struct TokenRoute {
    method: &'static str,
    template: &'static str,
    request: &'static str,
    form: &'static str,
    key: &'static str,
    expect: fn(Who) -> Expect,
}

const fn get(
    template: &'static str,
    request: &'static str,
    key: &'static str,
    expect: fn(Who) -> Expect,
) -> TokenRoute {
    TokenRoute { method: "GET", template, request, form: "", key, expect }
}

const TOKEN_ROUTES: &[TokenRoute] = &[
    get("/{token}/proposal/list", "/{token}/proposal/list", "Proposal_proposalId", legacy_proposals),
    get("/{token}/proposal/{proposal}/info/get", "/{token}/proposal/MX1/info/get", "", legacy_mx1),
    get("/{token}/proposal/session/{sessionId}/list", "/{token}/proposal/session/70567/list", "", sees_70567),
    get("/{token}/session/list", "/{token}/session/list", "sessionId", legacy_sessions),
    get(
        "/{token}/proposal/{proposal}/session/list",
        "/{token}/proposal/mx1/session/list",
        "sessionId",
        legacy_mx1_sessions,
    ),
    get(
        "/{token}/proposal/{proposal}/session/sessionId/{sessionId}/list",
        "/{token}/proposal/MX1/session/sessionId/70566/list",
        "sessionId",
        legacy_session_70566,
    ),
    get(
        "/{token}/proposal/{proposal}/session/date/{startdate}/{enddate}/list",
        "/{token}/proposal/9096/session/date/20160101/20171231/list",
        "sessionId",
        legacy_mx1_sessions,
    ),
    get(
        "/{token}/proposal/session/date/{startdate}/{enddate}/list",
        "/{token}/proposal/session/date/20160101/20171231/list",
        "sessionId",
        legacy_mx1_sessions_or_none,
    ),
    get(
        "/{token}/proposal/session/beamlineoperator/{operator}/list",
        "/{token}/proposal/session/beamlineoperator/darwin/list",
        "sessionId",
        |w| match w {
            Who::Unrelated => Expect::List(&[]),
            Who::BeamlineStaff => Expect::List(&[70565]),
            _ => Expect::List(&[70565, 70567]),
        },
    ),
    get(
        "/{token}/proposal/{proposal}/mx/datacollection/session/{sessionId}/list",
        "/{token}/proposal/blc00001/mx/datacollection/session/1/list",
        "DataCollectionGroup_dataCollectionGroupId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/list",
        "/{token}/proposal/blc00001/mx/datacollection/1/list",
        "DataCollection_dataCollectionId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/datacollection/datacollectiongroupid/{dataCollectionGroupId}/list",
        "/{token}/proposal/blc00001/mx/datacollection/datacollectiongroupid/1/list",
        "dataCollectionId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/autoprocintegration/datacollection/{dataCollectionId}/view",
        "/{token}/proposal/MX1/mx/autoprocintegration/datacollection/1/view",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/autoprocintegration/attachment/autoprocprogramid/{autoProcProgramId}/list",
        "/{token}/proposal/MX1/mx/autoprocintegration/attachment/autoprocprogramid/1/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/energyscan/session/{sessionId}/list",
        "/{token}/proposal/MX1/mx/energyscan/session/70565/list",
        "energyScanId",
        |w| if w == Who::Unrelated { Expect::Refused } else { Expect::List(&[]) },
    ),
    get(
        "/{token}/proposal/{proposal}/mx/xrfscan/session/{sessionId}/list",
        "/{token}/proposal/MX1/mx/xrfscan/session/70565/list",
        "xfeFluorescenceSpectrumId",
        |w| if w == Who::Unrelated { Expect::Refused } else { Expect::List(&[]) },
    ),
    get(
        "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/list",
        "/{token}/proposal/MX1/mx/workflow/step/1/list",
        "workflowStepId",
        |w| if w == Who::Unrelated { Expect::Refused } else { Expect::List(&[]) },
    ),
    // Files of objects MX1 does not have (collection 1 is blc00001's): 404, or 403 for who may
    // not see MX1.
    get(
        "/{token}/proposal/{proposal}/mx/image/{imageId}/get",
        "/{token}/proposal/MX1/mx/image/1/get",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/image/{imageId}/thumbnail",
        "/{token}/proposal/MX1/mx/image/1/thumbnail",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/qualityindicatorplot",
        "/{token}/proposal/MX1/mx/datacollection/1/qualityindicatorplot",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/wilson",
        "/{token}/proposal/MX1/mx/datacollection/1/wilson",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/crystalsnaphot/{snapshot}/get",
        "/{token}/proposal/MX1/mx/datacollection/1/crystalsnaphot/1/get",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/datacollectiongroup/{dataCollectionGroupId}/xtal/thumbnail",
        "/{token}/proposal/MX1/mx/datacollectiongroup/1/xtal/thumbnail",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/result",
        "/{token}/proposal/MX1/mx/workflow/step/1/result",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/image",
        "/{token}/proposal/MX1/mx/workflow/step/1/image",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/workflow/step/{workflowStepId}/html",
        "/{token}/proposal/MX1/mx/workflow/step/1/html",
        "",
        legacy_mx1_hidden,
    ),
    get("/{token}/mx/workflow/{workflowId}/log", "/{token}/mx/workflow/1/log", "", |_| Expect::Hidden),
    get(
        "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/download",
        "/{token}/proposal/MX1/mx/autoprocintegration/autoprocattachmentid/1/download",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/get",
        "/{token}/proposal/MX1/mx/autoprocintegration/autoprocattachmentid/1/get",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/getPdf",
        "/{token}/proposal/MX1/mx/autoprocintegration/autoprocattachmentid/1/getPdf",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/autoprocintegration/autoprocattachmentid/{autoProcAttachmentId}/getHtml",
        "/{token}/proposal/MX1/mx/autoprocintegration/autoprocattachmentid/1/getHtml",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/energyscan/energyscanId/{energyScanId}/jpegchooch",
        "/{token}/proposal/MX1/mx/energyscan/energyscanId/1/jpegchooch",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/energyscan/energyscanId/{energyScanId}/chooch",
        "/{token}/proposal/MX1/mx/energyscan/energyscanId/1/chooch",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/energyscan/energyscanId/{energyScanId}/scanfile",
        "/{token}/proposal/MX1/mx/energyscan/energyscanId/1/scanfile",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/xrfscan/xrfscanId/{xrfScanId}/image/{column}/get",
        "/{token}/proposal/MX1/mx/xrfscan/xrfscanId/1/image/jpegScanFileFullPath/get",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/xrfscan/xrfscanId/{xrfScanId}/file/{column}/get",
        "/{token}/proposal/MX1/mx/xrfscan/xrfscanId/1/file/scanFileFullPath/get",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/xrfscan/xrfscanId/{xrfScanId}/csv",
        "/{token}/proposal/MX1/mx/xrfscan/xrfscanId/1/csv",
        "",
        legacy_mx1_hidden,
    ),
    TokenRoute {
        method: "POST",
        template: "/{token}/proposal/{proposal}/mx/session/{sessionId}/comments/save",
        request: "/{token}/proposal/MX1/mx/session/70566/comments/save",
        form: "comments=matrix",
        key: "",
        expect: writes_70566,
    },
    TokenRoute {
        method: "POST",
        template: "/{token}/proposal/{proposal}/mx/datacollection/{dataCollectionId}/comments/save",
        request: "/{token}/proposal/MX1/mx/datacollection/1/comments/save",
        form: "comments=matrix",
        key: "",
        expect: legacy_mx1_hidden,
    },
    TokenRoute {
        method: "POST",
        template: "/{token}/proposal/{proposal}/mx/datacollectiongroup/{dataCollectionGroupId}/comments/save",
        request: "/{token}/proposal/MX1/mx/datacollectiongroup/1/comments/save",
        form: "comments=matrix",
        key: "",
        expect: legacy_mx1_hidden,
    },
    // Phasing: MX1 has none (an array per id, empty), and no attachment.
    get(
        "/{token}/proposal/{proposal}/mx/phasing/autoprocintegrationid/{autoProcIntegrationId}/list",
        "/{token}/proposal/MX1/mx/phasing/autoprocintegrationid/1/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/datacollectionid/{dataCollectionId}/list",
        "/{token}/proposal/MX1/mx/phasing/datacollectionid/1/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/datacollectiongroupid/{dataCollectionGroupId}/list",
        "/{token}/proposal/MX1/mx/phasing/datacollectiongroupid/1/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/sampleid/{blSampleId}/list",
        "/{token}/proposal/MX1/mx/phasing/sampleid/1/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/proteinid/{proteinId}/list",
        "/{token}/proposal/MX1/mx/phasing/proteinid/1/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/sessionid/{sessionId}/list",
        "/{token}/proposal/MX1/mx/phasing/sessionid/70565/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/phasingstepid/{phasingStepId}/list",
        "/{token}/proposal/MX1/mx/phasing/phasingstepid/1/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/phasingstepid/{phasingStepId}/files",
        "/{token}/proposal/MX1/mx/phasing/phasingstepid/1/files",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/phasingstepid/{phasingStepId}/download",
        "/{token}/proposal/MX1/mx/phasing/phasingstepid/1/download",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/phasingprogramattachmentid/{phasingProgramAttachmentId}/image",
        "/{token}/proposal/MX1/mx/phasing/phasingprogramattachmentid/1/image",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/phasingprogramattachmentid/{phasingProgramAttachmentId}/download",
        "/{token}/proposal/MX1/mx/phasing/phasingprogramattachmentid/1/download",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/phasing/phasingprogramattachmentid/{phasingProgramAttachmentId}/csv",
        "/{token}/proposal/MX1/mx/phasing/phasingprogramattachmentid/1/csv",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/autoprocintegration/attachment/autoprocprogramid/{autoProcProgramId}/download",
        "/{token}/proposal/MX1/mx/autoprocintegration/attachment/autoprocprogramid/3/download",
        "",
        legacy_mx1_hidden,
    ),
    // Logistics: blc00001 has shipment 1 (for no session) with dewar 1, container 1, sample 1.
    get(
        "/{token}/proposal/{proposal}/shipping/list",
        "/{token}/proposal/blc00001/shipping/list",
        "Shipping_shippingId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/shipping/{shippingId}/dewar/list",
        "/{token}/proposal/blc00001/shipping/1/dewar/list",
        "Dewar_dewarId",
        legacy_blc_rows,
    ),
    get("/{token}/proposal/{proposal}/dewar/list", "/{token}/proposal/blc00001/dewar/list", "dewarId", legacy_blc_rows),
    get(
        "/{token}/proposal/{proposal}/dewar/session/{sessionId}/list",
        "/{token}/proposal/blc00001/dewar/session/1/list",
        "dewarId",
        |w| if w == Who::AllProposals { Expect::List(&[]) } else { Expect::Refused },
    ),
    get(
        "/{token}/proposal/{proposal}/mx/sample/list",
        "/{token}/proposal/blc00001/mx/sample/list",
        "BLSample_blSampleId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/sample/containerid/{containerId}/list",
        "/{token}/proposal/blc00001/mx/sample/containerid/1/list",
        "BLSample_blSampleId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/sample/dewarid/{dewarId}/list",
        "/{token}/proposal/blc00001/mx/sample/dewarid/1/list",
        "BLSample_blSampleId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/sample/shipmentid/{shippingId}/list",
        "/{token}/proposal/blc00001/mx/sample/shipmentid/1/list",
        "BLSample_blSampleId",
        legacy_blc_rows,
    ),
    get(
        "/{token}/proposal/{proposal}/mx/sample/sessionid/{sessionId}/list",
        "/{token}/proposal/blc00001/mx/sample/sessionid/1/list",
        "BLSample_blSampleId",
        |w| if w == Who::AllProposals { Expect::List(&[]) } else { Expect::Refused },
    ),
    get(
        "/{token}/proposal/{proposal}/shipping/labcontact/list",
        "/{token}/proposal/MX1/shipping/labcontact/list",
        "labContactId",
        |w| if w == Who::Unrelated { Expect::Refused } else { Expect::List(&[273118]) },
    ),
    // EM (src/legacy/em.rs); MX1 has no EM data, so files are 404.
    get(
        "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/all",
        "/{token}/proposal/MX1/em/datacollection/1/movie/all",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/thumbnail",
        "/{token}/proposal/MX1/em/datacollection/1/movie/1/thumbnail",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/motioncorrection/thumbnail",
        "/{token}/proposal/MX1/em/datacollection/1/movie/1/motioncorrection/thumbnail",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/motioncorrection/drift",
        "/{token}/proposal/MX1/em/datacollection/1/movie/1/motioncorrection/drift",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/movie/{movieId}/ctf/thumbnail",
        "/{token}/proposal/MX1/em/datacollection/1/movie/1/ctf/thumbnail",
        "",
        legacy_mx1_hidden,
    ),
    get(
        "/{token}/proposal/{proposal}/em/datacollection/{dataCollectionId}/stats",
        "/{token}/proposal/MX1/em/datacollection/1/stats",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/em/datacollection/session/{sessionId}/list",
        "/{token}/proposal/MX1/em/datacollection/session/70565/list",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/em/session/{sessionId}/stats",
        "/{token}/proposal/MX1/em/session/70565/stats",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/em/session/{sessionId}/classification",
        "/{token}/proposal/MX1/em/session/70565/classification",
        "",
        legacy_mx1,
    ),
    get(
        "/{token}/proposal/{proposal}/em/classification/{particleClassificationId}/thumbnail",
        "/{token}/proposal/MX1/em/classification/1/thumbnail",
        "",
        legacy_mx1_hidden,
    ),
];

/// Token routes covered elsewhere: logout revokes the token (tests/api/legacy.rs).
const TOKEN_ROUTES_ELSEWHERE: &[&str] = &["/{token}/logout"];

/// Path tokens for a caller: a legacy token from Java's `/authenticate` on Java's mount, one of
/// our bearer tokens on py-ISPyB's (where py-ISPyB took its JWT). Anonymous callers have no
/// path to call.
async fn path_token_for(app: &TestApp, who: Who, java: bool) -> Option<String> {
    let login = match who {
        Who::Anonymous => return None,
        Who::Malformed => return Some("not-a-token".into()),
        Who::Expired if java => {
            use jsonwebtoken::{EncodingKey, Header, encode};
            let claims = json!({"sub": "newton", "personId": 404304, "typ": "legacy", "jti": "x", "iat": 1, "exp": 2});
            return Some(
                encode(&Header::default(), &claims, &EncodingKey::from_secret(b"test-secret-key-0123456789")).unwrap(),
            );
        }
        Who::Expired => return token_for(app, who).await,
        Who::SessionMember => "darwin",
        Who::ProposalMember => "pasteur",
        Who::Unrelated => "curie",
        Who::BeamlineStaff => "efgh",
        Who::AllProposals => "newton",
    };
    if !java {
        return Some(app.login(login).await);
    }
    let r = app
        .send(
            axum::http::Request::builder()
                .method(Method::POST)
                .uri("/ispyb/ispyb-ws/rest/authenticate?site=ESRF")
                .header("content-type", "application/x-www-form-urlencoded")
                .body(axum::body::Body::from(format!("login={login}&password=x")))
                .unwrap(),
        )
        .await;
    Some(r.json["token"].as_str().unwrap().to_string())
}

#[tokio::test]
async fn every_caller_sees_exactly_what_the_rules_allow_with_a_token_in_the_path() {
    let app = TestApp::ispyb().await;
    sqlx::query("INSERT INTO AdminVar (name, value) VALUES ('beamLineGroups', ?)")
        .bind(r#"[{"groupName":"BL01 staff","uiGroup":"mx","permission":"bl_admin","beamLines":[{"beamLineName":"BL01"}]}]"#)
        .execute(app.test_db.db.pool())
        .await
        .unwrap();
    app.grant("efgh", "bl_admin").await;
    app.grant("newton", "all_proposals").await;
    let mut failures = Vec::new();
    for (prefix, java) in [("/ispyb/ispyb-ws/rest", true), ("/ispyb/api/v1/legacy", false)] {
        let mut tokens = Vec::new();
        for who in CALLERS {
            if let Some(token) = path_token_for(&app, who, java).await {
                tokens.push((who, token));
            }
        }
        let ordered =
            TOKEN_ROUTES.iter().filter(|r| r.method == "GET").chain(TOKEN_ROUTES.iter().filter(|r| r.method != "GET"));
        for route in ordered {
            for (who, token) in &tokens {
                let who = *who;
                let uri = format!("{prefix}{}", route.request.replace("{token}", token));
                let method = Method::from_bytes(route.method.as_bytes()).unwrap();
                let req = axum::http::Request::builder()
                    .method(method)
                    .uri(uri)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(axum::body::Body::from(route.form))
                    .unwrap();
                let r = app.send(req).await;
                let cell = format!("{who:?} {} {prefix}{}", route.method, route.request);
                if matches!(who, Who::Malformed | Who::Expired) {
                    if r.status != StatusCode::UNAUTHORIZED {
                        failures.push(format!("{cell}: {} instead of 401", r.status));
                    }
                    continue;
                }
                match (route.expect)(who) {
                    Expect::List(ids) => check_list(&mut failures, &cell, &r, route.key, ids),
                    Expect::Found if !r.status.is_success() => {
                        failures.push(format!("{cell}: {} instead of 2xx: {}", r.status, r.text))
                    }
                    Expect::Hidden if r.status != StatusCode::NOT_FOUND => {
                        failures.push(format!("{cell}: {} instead of 404", r.status))
                    }
                    Expect::Refused if r.status != StatusCode::FORBIDDEN => {
                        failures.push(format!("{cell}: {} instead of 403", r.status))
                    }
                    _ => {}
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} cells failed:\n{}", failures.len(), failures.join("\n"));
    app.finish().await;
}

#[tokio::test]
async fn every_token_route_is_in_the_matrix() {
    let app = TestApp::ispyb().await;
    let doc = app.get("/openapi.json", None).await.json;
    let mut missing = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let Some(route) = path.strip_prefix("/ispyb/api/v1/legacy") else { continue };
        if !route.starts_with("/{token}/") || TOKEN_ROUTES_ELSEWHERE.contains(&route) {
            continue;
        }
        for method in item.as_object().unwrap().keys() {
            if !TOKEN_ROUTES.iter().any(|r| r.template == route && r.method.eq_ignore_ascii_case(method)) {
                missing.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    assert!(missing.is_empty(), "add these routes to tests/api/matrix.rs TOKEN_ROUTES: {missing:?}");
    app.finish().await;
}
