"""Publishers and reviewers over the API: JSON posts and puts with a bearer token, a review's
results, an app approved with every scope its listing asks for."""
import json

from tests.helpers.identity import bearer


def post(client, path, body, token, **headers):
    return client.post(path, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                             **bearer(token), **headers})


def put(client, path, body, token, **headers):
    return client.put(path, body=json.dumps(body), headers={"Content-Type": "application/json",
                                                            **bearer(token), **headers})


def results_for(client, app_id, version, reviewer_token, result="pass"):
    view = client.get(f"/review/apps/{app_id}/versions/{version}", headers=bearer(reviewer_token)).json_body
    return {criterion: {"result": result, "note": "ok"} for criterion in view["criteria"]}


def all_scopes(listing):
    return [item["scope"] for item in listing["scopes"]] + (["offline_access"] if listing["offline_access"] else [])


def approve(client, app_id, version, reviewer_token, listing, opinion="favourable", scopes=None):
    return post(client, f"/review/apps/{app_id}/versions/{version}/decision", {
        "opinion": opinion, "results": results_for(client, app_id, version, reviewer_token),
        "approved_scopes": all_scopes(listing) if scopes is None else scopes, "comment": "Dossier complet."},
        reviewer_token)
