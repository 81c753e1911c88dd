#!/usr/bin/env python3
"""Access-rule and bucket-configuration scenarios (issue 12) through a running gateway in front of a real store.

Two principals talk to the gateway, both with boto3 (path addressing, us-east-1, no
retries): `tester` (--access-key/--secret, group qa) may create and delete buckets but
not configure them; `platform` (--admin-access-key/--admin-secret, group platform-admins)
may configure buckets, within the upload rules. The gateway must run with the policy of
Tests/GatewayTests/Live/BucketConfigurationTests.swift (`policyText`):

  access: everyone-manages-buckets (bucket-create-delete: allow),
          admins-configure-buckets (platform-admins, bucket-config: allow)
  rules:  no-archive (no GLACIER/DEEP_ARCHIVE), kms-only (SSE-KMS with testkey-1),
          no-public (private/bucket-owner-full-control, block_public_access),
          relative-redirects (website_redirect: relative-only)

A scenario passes only if
  - the store holds nothing the policy forbids, read back with the UPSTREAM credentials
    (the bucket policy, ACL, lifecycle, public-access block, encryption, website and
    replication configuration as the store reports them);
  - where it applies (radosgw), an anonymous client talking straight to the store (no
    signature at all) can neither read nor write what it must not;
  - the gateway answered as expected: a refusal is 403 AccessDenied naming the access
    rule (`default`: "... which is denied by default") or the upload rule that decided; an
    allowed change gets the request's normal answer and is then read back as sent.
Every step of a scenario runs even after one went wrong, and the detail lists them all.

--store radosgw: bucket policies, ACLs, lifecycle and the public-access block (Ceph radosgw
  stores lifecycle transitions to any class name, GLACIER after 0 days included, and
  serves the bucket policy and ACL to anonymous clients).
--store moto: bucket encryption, website and replication, which radosgw does not implement
  (a moto server: it stores what it is sent and checks no signature).
Each store also gets a control scenario: the forbidden configurations are planted straight
at the store with the upstream key, and the same read-back must flag every one of them.

Usage: bucket_config_scenarios.py --endpoint URL --access-key AK --secret SK
           --admin-access-key AK --admin-secret SK
           --upstream-endpoint URL --upstream-access-key AK --upstream-secret SK
           --store radosgw|moto --out results.json
Writes {"scenarios": [{"name", "ok", "detail"}]} and exits 0 only if every scenario passed.
"""
import http.client
import json
import sys
import urllib.parse
import uuid

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from scenario_support import delete_bucket, finish, run_checks, scenario_arguments

REGION = "us-east-1"
KMS_KEY = "testkey-1"
OTHER_KMS_KEY = "testkey-2"
PUBLIC_GROUPS = ("http://acs.amazonaws.com/groups/global/AllUsers",
                 "http://acs.amazonaws.com/groups/global/AuthenticatedUsers")
# no-archive: GLACIER and DEEP_ARCHIVE, in either dialect (OBS COLD is GLACIER).
FORBIDDEN_CLASSES = ("GLACIER", "DEEP_ARCHIVE", "COLD")
# The "not configured" answers of radosgw and moto, by configuration.
ABSENT = {
    "policy": ("NoSuchBucketPolicy",),
    "lifecycle": ("NoSuchLifecycleConfiguration",),
    "encryption": ("ServerSideEncryptionConfigurationNotFoundError",),
    "website": ("NoSuchWebsiteConfiguration",),
    "replication": ("ReplicationConfigurationNotFoundError",),
    "public_access_block": ("NoSuchPublicAccessBlockConfiguration",),
}


def s3_client(endpoint, access_key, secret):
    config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 0},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required")
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access_key, aws_secret_access_key=secret,
                        region_name=REGION, config=config)


def status_of(response):
    return response["ResponseMetadata"]["HTTPStatusCode"]


# ---------------------------------------------------------------------------- the store's side

class Store:
    """Reads a bucket's configuration with the upstream credentials and judges it by the
    policy: each `*_violations` returns the ways the stored configuration breaks it (empty:
    compliant or not configured). Also talks to the store anonymously."""

    def __init__(self, upstream, endpoint):
        self.up = upstream
        parsed = urllib.parse.urlsplit(endpoint)
        self.host, self.port = parsed.hostname, parsed.port or 80

    def read(self, kind, bucket):
        """The stored configuration of `kind` (see ABSENT), or None when there is none."""
        calls = {
            "policy": lambda: json.loads(self.up.get_bucket_policy(Bucket=bucket)["Policy"]),
            "lifecycle": lambda: self.up.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"],
            "encryption": lambda: self.up.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
            "website": lambda: {k: v for k, v in self.up.get_bucket_website(Bucket=bucket).items()
                                if k != "ResponseMetadata"},
            "replication": lambda: self.up.get_bucket_replication(Bucket=bucket)["ReplicationConfiguration"],
            "public_access_block": lambda: self.up.get_public_access_block(Bucket=bucket)[
                "PublicAccessBlockConfiguration"],
            "acl": lambda: self.up.get_bucket_acl(Bucket=bucket),
        }
        try:
            return calls[kind]()
        except ClientError as error:
            if error.response["Error"]["Code"] in ABSENT.get(kind, ()):
                return None
            raise

    # -- judging what is stored

    def policy_violations(self, bucket):
        policy = self.read("policy", bucket)
        if policy is None:
            return []
        statements = policy.get("Statement", [])
        if isinstance(statements, dict):
            statements = [statements]
        return [f"no-public: the stored bucket policy lets everyone {statement.get('Action')} "
                f"(statement {statement.get('Sid', '?')!r}, Principal {statement.get('Principal')!r})"
                for statement in statements
                if statement.get("Effect") == "Allow" and names_everyone(statement.get("Principal"))]

    def acl_violations(self, bucket):
        acl = self.read("acl", bucket)
        return [f"no-public: the stored bucket ACL grants {grant.get('Permission')} to "
                f"{grant['Grantee']['URI'].rsplit('/', 1)[-1]}"
                for grant in acl.get("Grants", []) if grant.get("Grantee", {}).get("URI") in PUBLIC_GROUPS]

    def lifecycle_violations(self, bucket):
        rules = self.read("lifecycle", bucket) or []
        found = []
        for rule in rules:
            for field in ("Transitions", "NoncurrentVersionTransitions"):
                for transition in rule.get(field, []):
                    if transition.get("StorageClass") in FORBIDDEN_CLASSES:
                        found.append(f"no-archive: stored lifecycle rule {rule.get('ID')!r} moves objects to "
                                     f"{transition['StorageClass']} ({field})")
        return found

    def encryption_violations(self, bucket):
        configuration = self.read("encryption", bucket)
        if configuration is None:
            return []
        found = []
        for rule in configuration.get("Rules", []):
            default = rule.get("ApplyServerSideEncryptionByDefault", {})
            algorithm, key = default.get("SSEAlgorithm"), default.get("KMSMasterKeyID")
            if algorithm != "aws:kms" or key != KMS_KEY:
                found.append(f"kms-only: stored default encryption {algorithm} key {key!r}, not aws:kms {KMS_KEY}")
        return found

    def website_violations(self, bucket):
        website = self.read("website", bucket)
        if website is None:
            return []
        found = []
        if "RedirectAllRequestsTo" in website:
            found.append(f"relative-redirects: stored RedirectAllRequestsTo {website['RedirectAllRequestsTo']}")
        for rule in website.get("RoutingRules", []):
            redirect = rule.get("Redirect", {})
            if redirect.get("HostName") or redirect.get("Protocol"):
                found.append(f"relative-redirects: stored routing rule redirects to "
                             f"{redirect.get('Protocol', '')}://{redirect.get('HostName', '')}")
        return found

    def replication_violations(self, bucket):
        configuration = self.read("replication", bucket)
        if configuration is None:
            return []
        return [f"no-archive: stored replication rule {rule.get('ID')!r} replicates into "
                f"{rule['Destination']['StorageClass']}"
                for rule in configuration.get("Rules", [])
                if rule.get("Destination", {}).get("StorageClass") in FORBIDDEN_CLASSES]

    def public_access_block_violations(self, bucket, expected):
        """The block must still be what was set (radosgw answers all-false when none is set,
        moto NoSuchPublicAccessBlockConfiguration)."""
        stored = self.read("public_access_block", bucket)
        if stored != expected:
            return [f"no-public: the public-access block is now {stored}, was {expected}"]
        return []

    # -- anonymous clients straight at the store

    def anonymous(self, method, path, body=None):
        """One request without any signature; (status, body)."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            headers = {} if body is None else {"Content-Length": str(len(body))}
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def names_everyone(principal):
    """`"*"`, or a map any of whose values is `"*"` or a list holding it (`{"AWS": "*"}`)."""
    if isinstance(principal, str):
        return principal == "*"
    if isinstance(principal, list):
        return "*" in principal
    if isinstance(principal, dict):
        return any(names_everyone(value) for value in principal.values())
    return False


# ---------------------------------------------------------------------------- one scenario's steps

class Steps:
    """The steps of one scenario: each records what happened; a step that went wrong adds a
    problem but the following steps still run. `done()` passes (returns the detail) only if
    no step went wrong."""

    def __init__(self, store):
        self.store = store
        self.lines, self.problems = [], []

    def note(self, line):
        self.lines.append(line)

    def problem(self, line):
        self.problems.append(line)
        self.lines.append("WRONG " + line)

    def refused(self, what, call, rule):
        """`call` must be refused by the gateway: 403 AccessDenied whose message names `rule`
        (`default`: the default denial)."""
        try:
            response = call()
        except ClientError as error:
            code = error.response["Error"].get("Code", "")
            message = error.response["Error"].get("Message", "") or ""
            status = error.response["ResponseMetadata"].get("HTTPStatusCode")
            answer = f"{status} {code} {message!r}"
            names = "denied by default" in message.lower() if rule == "default" else f"'{rule}'" in message
            if status == 403 and code == "AccessDenied" and names:
                self.note(f"{what}: refused, {answer}")
            else:
                self.problem(f"{what}: expected 403 AccessDenied naming {rule}, got {answer}")
            return
        self.problem(f"{what}: expected 403 AccessDenied naming {rule}, but the gateway answered {status_of(response)}")

    def allowed(self, what, call):
        """`call` must succeed (its normal 200/204 answer)."""
        try:
            response = call()
        except ClientError as error:
            status = error.response["ResponseMetadata"].get("HTTPStatusCode")
            self.problem(f"{what}: expected to be allowed, got {status} "
                         f"{error.response['Error'].get('Code')} {error.response['Error'].get('Message')!r}")
            return False
        status = status_of(response)
        if status in (200, 204):
            self.note(f"{what}: allowed, {status}")
            return True
        self.problem(f"{what}: expected 200/204, got {status}")
        return False

    def store_clean(self, what, violations):
        if violations:
            for violation in violations:
                self.problem(f"store after {what}: {violation}")
        else:
            self.note(f"store after {what}: nothing forbidden")

    def check(self, ok, line):
        (self.note if ok else self.problem)(line)

    def guard(self, what, step):
        """Runs `step` (a read-back or anonymous probe); an exception is a problem of its own."""
        try:
            step()
        except Exception as error:  # a failing read-back is reported, the other steps still run
            self.problem(f"{what}: {type(error).__name__}: {error}")

    def clean(self, what, judge, bucket):
        """The store holds nothing forbidden: `judge` is one of Store's `*_violations`."""
        self.guard(f"read-back after {what}", lambda: self.store_clean(what, judge(bucket)))

    def absent(self, what, kind, bucket):
        """The store holds no configuration of `kind` for the bucket."""
        def read():
            stored = self.store.read(kind, bucket)
            self.check(stored is None, f"store after {what}: {kind} " + (
                "not configured" if stored is None else f"CONFIGURED: {stored}"))
        self.guard(f"read-back after {what}", read)

    def stored(self, what, read, expected):
        """What `read()` gives back from the store equals `expected`."""
        def compare():
            got = read()
            self.check(got == expected,
                       f"store after {what}: {got}" + ("" if got == expected else f", expected {expected}"))
        self.guard(f"read-back after {what}", compare)

    def done(self):
        detail = " | ".join(self.lines)
        if self.problems:
            raise AssertionError(f"{len(self.problems)} wrong: {'; '.join(self.problems)} || all steps: {detail}")
        return detail


# ---------------------------------------------------------------------------- documents

def public_policy(bucket):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "everyone-reads", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def private_policy(bucket):
    # radosgw's own user testid, by ARN: a principal of the account, nobody else.
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "one-reader", "Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam:::user/testid"]},
        "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def lifecycle_to(storage_class, days=0):
    return {"Rules": [{"ID": "archive-everything", "Status": "Enabled", "Filter": {"Prefix": ""},
                       "Transitions": [{"Days": days, "StorageClass": storage_class}]}]}


LIFECYCLE_SECOND_RULE_ARCHIVES = {"Rules": [
    {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 7}},
    {"ID": "deep-archive-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
     "Transitions": [{"Days": 1, "StorageClass": "DEEP_ARCHIVE"}]}]}

LIFECYCLE_ALLOWED = {"Rules": [
    {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 30}}]}

# A transition to a class the policy does not forbid: allowed too (proves the judge reads
# the class rather than refusing every transition).
LIFECYCLE_ALLOWED_WITH_IA = {"Rules": [
    {"ID": "expire-tmp", "Status": "Enabled", "Filter": {"Prefix": "tmp/"}, "Expiration": {"Days": 30}},
    {"ID": "infrequent-logs", "Status": "Enabled", "Filter": {"Prefix": "logs/"},
     "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}]}]}


def lifecycle_essentials(rules):
    """What a lifecycle configuration says, as radosgw and moto report it back (radosgw
    answers some filters as a bare Prefix)."""
    out = []
    for rule in rules or []:
        prefix = rule.get("Filter", {}).get("Prefix", rule.get("Prefix", ""))
        out.append((rule.get("ID"), rule.get("Status"), prefix, rule.get("Expiration", {}).get("Days"),
                    tuple((t.get("Days"), t.get("StorageClass")) for t in rule.get("Transitions", []))))
    return sorted(out, key=repr)


def encryption(algorithm, key=None):
    default = {"SSEAlgorithm": algorithm, **({"KMSMasterKeyID": key} if key else {})}
    return {"Rules": [{"ApplyServerSideEncryptionByDefault": default}]}


def encryption_essentials(configuration):
    return [(rule.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm"),
             rule.get("ApplyServerSideEncryptionByDefault", {}).get("KMSMasterKeyID"))
            for rule in (configuration or {}).get("Rules", [])]


WEBSITE_REDIRECT_ALL = {"RedirectAllRequestsTo": {"HostName": "evil.example", "Protocol": "https"}}
WEBSITE_ROUTING_ELSEWHERE = {"IndexDocument": {"Suffix": "index.html"}, "RoutingRules": [
    {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"HostName": "evil.example", "Protocol": "https"}}]}
WEBSITE_INDEX_ONLY = {"IndexDocument": {"Suffix": "index.html"}}
# A routing rule that stays on this host (a relative redirect): allowed.
WEBSITE_ROUTING_RELATIVE = {"IndexDocument": {"Suffix": "index.html"}, "RoutingRules": [
    {"Condition": {"KeyPrefixEquals": "docs/"}, "Redirect": {"ReplaceKeyPrefixWith": "documents/"}}]}


def replication_to(destination, *storage_classes):
    return {"Role": "arn:aws:iam::123456789012:role/replication", "Rules": [
        {"ID": f"rule-{index}", "Status": "Enabled", "Priority": index + 1, "Filter": {"Prefix": f"p{index}/"},
         "DeleteMarkerReplication": {"Status": "Disabled"},
         "Destination": {"Bucket": f"arn:aws:s3:::{destination}", "StorageClass": storage_class}}
        for index, storage_class in enumerate(storage_classes)]}


def replication_essentials(configuration):
    return sorted((rule.get("ID"), rule.get("Destination", {}).get("Bucket"),
                   rule.get("Destination", {}).get("StorageClass"))
                  for rule in (configuration or {}).get("Rules", []))


BLOCK_EVERYTHING = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                    "RestrictPublicBuckets": True}


# ---------------------------------------------------------------------------- radosgw scenarios

def bucket_maker(tester, suffix, buckets):
    """Creates bc-NAME-SUFFIX as the tester (access rule everyone-manages-buckets) and
    remembers it for the clean-up."""
    def new_bucket(name):
        bucket = f"bc-{name}-{suffix}"
        tester.create_bucket(Bucket=bucket)
        buckets.append(bucket)
        return bucket
    return new_bucket


def radosgw_scenarios(tester, admin, upstream, store, new_bucket):
    def anonymous_cannot_read(steps, bucket, key):
        def probe():
            status, body = store.anonymous("GET", f"/{bucket}/{key}")
            steps.check(status == 403, f"anonymous GET /{bucket}/{key} straight at the store: {status}"
                                       + ("" if status == 403 else f" {body[:120]!r}"))
        steps.guard("anonymous GET", probe)

    def anonymous_cannot_write(steps, bucket, key):
        def probe():
            status, _ = store.anonymous("PUT", f"/{bucket}/{key}", b"written by nobody")
            try:
                upstream.head_object(Bucket=bucket, Key=key)
                exists = True
            except ClientError:
                exists = False
            steps.check(status == 403 and not exists,
                        f"anonymous PUT /{bucket}/{key} straight at the store: {status}, object "
                        f"{'STORED' if exists else 'absent'}")
        steps.guard("anonymous PUT", probe)

    def refused_public_policy(name, client, rule):
        bucket = new_bucket(name)
        upstream.put_object(Bucket=bucket, Key="private.txt", Body=b"not for everyone")
        steps = Steps(store)
        steps.refused("PUT ?policy Principal * s3:GetObject",
                      lambda: client.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket)), rule)
        steps.clean("the refused policy", store.policy_violations, bucket)
        steps.absent("the refused policy", "policy", bucket)
        anonymous_cannot_read(steps, bucket, "private.txt")
        return steps.done()

    def tester_cannot_set_a_public_bucket_policy():
        return refused_public_policy("pol-tester", tester, "default")

    def admin_cannot_set_a_public_bucket_policy():
        return refused_public_policy("pol-admin", admin, "no-public")

    def admin_can_set_a_private_bucket_policy():
        bucket = new_bucket("priv")
        upstream.put_object(Bucket=bucket, Key="private.txt", Body=b"for one user")
        steps = Steps(store)
        document = private_policy(bucket)
        steps.refused("tester PUT ?policy (private)", lambda: tester.put_bucket_policy(Bucket=bucket, Policy=document),
                      "default")
        steps.absent("the tester's refused policy", "policy", bucket)
        upstream.delete_bucket_policy(Bucket=bucket)  # undo a forwarded one
        if steps.allowed("platform PUT ?policy (private)",
                         lambda: admin.put_bucket_policy(Bucket=bucket, Policy=document)):
            steps.stored("the private policy", lambda: store.read("policy", bucket), json.loads(document))
        steps.clean("the private policy", store.policy_violations, bucket)
        anonymous_cannot_read(steps, bucket, "private.txt")
        return steps.done()

    def public_read_write_bucket_acl_is_refused():
        bucket = new_bucket("acl")
        steps = Steps(store)
        for who, client, rule in (("tester", tester, "default"), ("platform", admin, "no-public")):
            what = f"{who} PUT ?acl x-amz-acl: public-read-write"
            steps.refused(what, lambda: client.put_bucket_acl(Bucket=bucket, ACL="public-read-write"), rule)
            steps.clean(what, store.acl_violations, bucket)
            anonymous_cannot_write(steps, bucket, f"anonymous-upload-{who}.txt")
            upstream.put_bucket_acl(Bucket=bucket, ACL="private")  # undo a forwarded one: each step on its own
        what = "platform PUT ?acl x-amz-grant-write: uri=AllUsers"
        steps.refused(what, lambda: admin.put_bucket_acl(Bucket=bucket, GrantWrite=f'uri="{PUBLIC_GROUPS[0]}"'),
                      "no-public")
        steps.clean(what, store.acl_violations, bucket)
        upstream.put_bucket_acl(Bucket=bucket, ACL="private")

        def body_grant():
            owner = upstream.get_bucket_acl(Bucket=bucket)["Owner"]
            policy = {"Owner": owner, "Grants": [
                {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
                {"Grantee": {"Type": "Group", "URI": PUBLIC_GROUPS[1]}, "Permission": "READ"}]}
            what = "platform PUT ?acl AccessControlPolicy body granting AuthenticatedUsers READ"
            steps.refused(what, lambda: admin.put_bucket_acl(Bucket=bucket, AccessControlPolicy=policy), "no-public")
            steps.clean(what, store.acl_violations, bucket)
        steps.guard("ACL body", body_grant)
        # The allowed half: the owner-only canned ACL from the principal allowed to configure.
        steps.allowed("platform PUT ?acl x-amz-acl: private",
                      lambda: admin.put_bucket_acl(Bucket=bucket, ACL="private"))
        steps.clean("the private ACL", store.acl_violations, bucket)
        return steps.done()

    def lifecycle_transition_to_glacier_is_refused():
        bucket = new_bucket("lc")
        steps = Steps(store)
        for what, client, document, rule in (
                ("tester PUT ?lifecycle GLACIER after 0 days", tester, lifecycle_to("GLACIER"), "default"),
                ("platform PUT ?lifecycle GLACIER after 0 days", admin, lifecycle_to("GLACIER"), "no-archive"),
                ("platform PUT ?lifecycle, its second rule to DEEP_ARCHIVE", admin, LIFECYCLE_SECOND_RULE_ARCHIVES,
                 "no-archive")):
            steps.refused(what, lambda: client.put_bucket_lifecycle_configuration(
                Bucket=bucket, LifecycleConfiguration=document), rule)
            steps.clean(what, store.lifecycle_violations, bucket)
            steps.absent(what, "lifecycle", bucket)
            upstream.delete_bucket_lifecycle(Bucket=bucket)  # undo a forwarded one: each step on its own
        return steps.done()

    def lifecycle_expiration_only_is_allowed():
        bucket = new_bucket("lcok")
        steps = Steps(store)
        for name, document in (("expiration only", LIFECYCLE_ALLOWED),
                               ("expiration + STANDARD_IA transition", LIFECYCLE_ALLOWED_WITH_IA)):
            if steps.allowed(f"platform PUT ?lifecycle {name}", lambda: admin.put_bucket_lifecycle_configuration(
                    Bucket=bucket, LifecycleConfiguration=document)):
                steps.stored(f"the lifecycle ({name})", lambda: lifecycle_essentials(store.read("lifecycle", bucket)),
                             lifecycle_essentials(document["Rules"]))
        steps.clean("the allowed lifecycles", store.lifecycle_violations, bucket)
        return steps.done()

    def tester_cannot_delete_the_lifecycle():
        bucket = new_bucket("lcdel")
        upstream.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=LIFECYCLE_ALLOWED)
        steps = Steps(store)
        steps.refused("tester DELETE ?lifecycle", lambda: tester.delete_bucket_lifecycle(Bucket=bucket), "default")
        steps.stored("the refused DELETE", lambda: lifecycle_essentials(store.read("lifecycle", bucket)),
                     lifecycle_essentials(LIFECYCLE_ALLOWED["Rules"]))
        # The allowed half: the platform principal may remove a lifecycle (it forbids nothing).
        if steps.allowed("platform DELETE ?lifecycle", lambda: admin.delete_bucket_lifecycle(Bucket=bucket)):
            steps.absent("the allowed DELETE", "lifecycle", bucket)
        return steps.done()

    def public_access_block_cannot_be_removed():
        bucket = new_bucket("pab")
        upstream.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_EVERYTHING)
        steps = Steps(store)
        unblocked = {name: False for name in BLOCK_EVERYTHING}
        for what, call, rule in (
                ("tester DELETE ?publicAccessBlock", lambda: tester.delete_public_access_block(Bucket=bucket),
                 "default"),
                ("platform DELETE ?publicAccessBlock (block_public_access is on)",
                 lambda: admin.delete_public_access_block(Bucket=bucket), "no-public"),
                ("platform PUT ?publicAccessBlock all false", lambda: admin.put_public_access_block(
                    Bucket=bucket, PublicAccessBlockConfiguration=unblocked), "no-public")):
            steps.refused(what, call, rule)
            steps.clean(what, lambda name: store.public_access_block_violations(name, BLOCK_EVERYTHING), bucket)
            # Put back what a forwarded request removed, so the next step is judged on its own.
            upstream.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_EVERYTHING)
        return steps.done()

    def control_checker_flags_planted_configuration():
        # Planted with the upstream key, around the gateway: the same read-back and the same
        # anonymous probes must see every one of them.
        bucket = new_bucket("control")
        upstream.put_object(Bucket=bucket, Key="private.txt", Body=b"not for everyone")
        upstream.put_bucket_policy(Bucket=bucket, Policy=public_policy(bucket))
        upstream.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
        upstream.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle_to("GLACIER"))
        upstream.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=BLOCK_EVERYTHING)
        upstream.delete_public_access_block(Bucket=bucket)
        try:
            found = (store.policy_violations(bucket) + store.acl_violations(bucket)
                     + store.lifecycle_violations(bucket)
                     + store.public_access_block_violations(bucket, BLOCK_EVERYTHING))
            for what in ("bucket policy", "bucket ACL", "GLACIER", "public-access block"):
                assert any(what in line for line in found), f"the checker missed the planted {what}: {found}"
            read_status, _ = store.anonymous("GET", f"/{bucket}/private.txt")
            write_status, _ = store.anonymous("PUT", f"/{bucket}/anonymous-upload.txt", b"written by nobody")
            assert read_status == 200, (
                f"anonymous GET under a planted public policy: {read_status} (the probe sees nothing)")
            assert write_status == 200, f"anonymous PUT under a planted public-read-write ACL: {write_status}"
            return (f"flagged: {'; '.join(found)}; anonymous GET {read_status}, anonymous PUT {write_status} "
                    "straight at the store")
        finally:
            upstream.delete_bucket_policy(Bucket=bucket)
            upstream.put_bucket_acl(Bucket=bucket, ACL="private")
            upstream.delete_bucket_lifecycle(Bucket=bucket)

    return [
        tester_cannot_set_a_public_bucket_policy, admin_cannot_set_a_public_bucket_policy,
        admin_can_set_a_private_bucket_policy, public_read_write_bucket_acl_is_refused,
        lifecycle_transition_to_glacier_is_refused, lifecycle_expiration_only_is_allowed,
        tester_cannot_delete_the_lifecycle, public_access_block_cannot_be_removed,
        control_checker_flags_planted_configuration,
    ]


# ---------------------------------------------------------------------------- moto scenarios

def moto_scenarios(tester, admin, upstream, store, new_bucket):
    def encryption_default_must_be_the_approved_kms_key():
        bucket = new_bucket("enc")
        steps = Steps(store)
        for what, client, document, rule in (
                ("platform PUT ?encryption AES256", admin, encryption("AES256"), "kms-only"),
                (f"platform PUT ?encryption aws:kms {OTHER_KMS_KEY}", admin, encryption("aws:kms", OTHER_KMS_KEY),
                 "kms-only"),
                (f"tester PUT ?encryption aws:kms {KMS_KEY}", tester, encryption("aws:kms", KMS_KEY), "default")):
            steps.refused(what, lambda: client.put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration=document), rule)
            steps.clean(what, store.encryption_violations, bucket)
            steps.absent(what, "encryption", bucket)
            upstream.delete_bucket_encryption(Bucket=bucket)  # undo a forwarded one: each step on its own
        approved = encryption("aws:kms", KMS_KEY)
        if steps.allowed(f"platform PUT ?encryption aws:kms {KMS_KEY}", lambda: admin.put_bucket_encryption(
                Bucket=bucket, ServerSideEncryptionConfiguration=approved)):
            steps.stored("the approved default", lambda: encryption_essentials(store.read("encryption", bucket)),
                         [("aws:kms", KMS_KEY)])
        else:
            upstream.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=approved)
        for what, call, rule in (
                ("tester DELETE ?encryption", lambda: tester.delete_bucket_encryption(Bucket=bucket), "default"),
                ("platform DELETE ?encryption (kms-only requires encryption)",
                 lambda: admin.delete_bucket_encryption(Bucket=bucket), "kms-only")):
            steps.refused(what, call, rule)
            steps.stored(what, lambda: encryption_essentials(store.read("encryption", bucket)), [("aws:kms", KMS_KEY)])
            upstream.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration=approved)
        return steps.done()

    def website_redirect_all_requests_elsewhere_is_refused():
        bucket = new_bucket("web")
        steps = Steps(store)
        for what, client, document, rule in (
                ("tester PUT ?website IndexDocument only", tester, WEBSITE_INDEX_ONLY, "default"),
                ("platform PUT ?website RedirectAllRequestsTo evil.example", admin, WEBSITE_REDIRECT_ALL,
                 "relative-redirects"),
                ("platform PUT ?website routing rule Redirect HostName evil.example", admin, WEBSITE_ROUTING_ELSEWHERE,
                 "relative-redirects")):
            steps.refused(what, lambda: client.put_bucket_website(Bucket=bucket, WebsiteConfiguration=document), rule)
            steps.clean(what, store.website_violations, bucket)
            steps.absent(what, "website", bucket)
            upstream.delete_bucket_website(Bucket=bucket)  # undo a forwarded one: each step on its own
        for name, document in (("IndexDocument only", WEBSITE_INDEX_ONLY),
                               ("routing rule ReplaceKeyPrefixWith (relative)", WEBSITE_ROUTING_RELATIVE)):
            if steps.allowed(f"platform PUT ?website {name}", lambda: admin.put_bucket_website(
                    Bucket=bucket, WebsiteConfiguration=document)):
                steps.stored(f"the website ({name})", lambda: store.read("website", bucket), document)
        steps.clean("the allowed websites", store.website_violations, bucket)
        return steps.done()

    def replication_to_glacier_is_refused():
        source, destination = new_bucket("repl"), new_bucket("replica")
        steps = Steps(store)
        steps.refused("tester PUT ?versioning Enabled", lambda: tester.put_bucket_versioning(
            Bucket=source, VersioningConfiguration={"Status": "Enabled"}), "default")
        for bucket in (source, destination):
            steps.allowed(f"platform PUT ?versioning Enabled on {bucket}", lambda: admin.put_bucket_versioning(
                Bucket=bucket, VersioningConfiguration={"Status": "Enabled"}))
        for what, client, document, rule in (
                ("platform PUT ?replication destination GLACIER", admin, replication_to(destination, "GLACIER"),
                 "no-archive"),
                ("platform PUT ?replication, its second rule into DEEP_ARCHIVE", admin,
                 replication_to(destination, "STANDARD", "DEEP_ARCHIVE"), "no-archive"),
                ("tester PUT ?replication destination STANDARD", tester, replication_to(destination, "STANDARD"),
                 "default")):
            steps.refused(what, lambda: client.put_bucket_replication(Bucket=source, ReplicationConfiguration=document),
                          rule)
            steps.clean(what, store.replication_violations, source)
            steps.absent(what, "replication", source)
            upstream.delete_bucket_replication(Bucket=source)  # undo a forwarded one: each step on its own
        allowed = replication_to(destination, "STANDARD", "STANDARD_IA")
        if steps.allowed("platform PUT ?replication destinations STANDARD and STANDARD_IA",
                         lambda: admin.put_bucket_replication(Bucket=source, ReplicationConfiguration=allowed)):
            steps.stored("the allowed replication", lambda: replication_essentials(store.read("replication", source)),
                         replication_essentials(allowed))
        steps.clean("the allowed replication", store.replication_violations, source)
        return steps.done()

    def control_checker_flags_planted_configuration():
        bucket, destination = new_bucket("control"), new_bucket("control-replica")
        flagged = []

        def plant(what, put, check):
            put()
            violations = check()
            assert violations, f"the checker missed the planted {what}"
            flagged.append(f"{what}: {violations[0]}")

        plant("AES256 default encryption", lambda: upstream.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration=encryption("AES256")),
            lambda: store.encryption_violations(bucket))
        plant(f"{OTHER_KMS_KEY} default encryption", lambda: upstream.put_bucket_encryption(
            Bucket=bucket, ServerSideEncryptionConfiguration=encryption("aws:kms", OTHER_KMS_KEY)),
            lambda: store.encryption_violations(bucket))
        plant("RedirectAllRequestsTo", lambda: upstream.put_bucket_website(
            Bucket=bucket, WebsiteConfiguration=WEBSITE_REDIRECT_ALL), lambda: store.website_violations(bucket))
        plant("routing rule to another host", lambda: upstream.put_bucket_website(
            Bucket=bucket, WebsiteConfiguration=WEBSITE_ROUTING_ELSEWHERE), lambda: store.website_violations(bucket))
        for name in (bucket, destination):
            upstream.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        plant("replication into GLACIER", lambda: upstream.put_bucket_replication(
            Bucket=bucket, ReplicationConfiguration=replication_to(destination, "GLACIER")),
            lambda: store.replication_violations(bucket))
        plant("lifecycle into GLACIER", lambda: upstream.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration=lifecycle_to("GLACIER")), lambda: store.lifecycle_violations(bucket))
        upstream.delete_bucket_encryption(Bucket=bucket)
        upstream.delete_bucket_website(Bucket=bucket)
        upstream.delete_bucket_replication(Bucket=bucket)
        upstream.delete_bucket_lifecycle(Bucket=bucket)
        return "flagged: " + "; ".join(flagged)

    return [
        encryption_default_must_be_the_approved_kms_key, website_redirect_all_requests_elsewhere_is_refused,
        replication_to_glacier_is_refused, control_checker_flags_planted_configuration,
    ]


# ---------------------------------------------------------------------------- main

def delete_everything(upstream, bucket):
    """Removes a bucket with the upstream key, versions included (moto's replication
    scenarios enable versioning)."""
    try:
        versions = upstream.list_object_versions(Bucket=bucket)
        for item in versions.get("Versions", []) + versions.get("DeleteMarkers", []):
            upstream.delete_object(Bucket=bucket, Key=item["Key"], VersionId=item["VersionId"])
    except ClientError:
        pass
    delete_bucket(upstream, bucket)


def main():
    parser = scenario_arguments(__doc__.splitlines()[0], upstream=True)
    parser.add_argument("--admin-access-key", required=True, help="the platform principal's gateway key")
    parser.add_argument("--admin-secret", required=True)
    parser.add_argument("--store", required=True, choices=("radosgw", "moto"))
    args = parser.parse_args()

    tester = s3_client(args.endpoint, args.access_key, args.secret)
    admin = s3_client(args.endpoint, args.admin_access_key, args.admin_secret)
    upstream = s3_client(args.upstream_endpoint, args.upstream_access_key, args.upstream_secret)
    store = Store(upstream, args.upstream_endpoint)
    buckets = []
    make = radosgw_scenarios if args.store == "radosgw" else moto_scenarios
    results = run_checks(make(tester, admin, upstream, store, bucket_maker(tester, uuid.uuid4().hex[:8], buckets)))

    # Clean up with the upstream key: it sees (and may delete) whatever the gateway let through.
    for bucket in buckets:
        try:
            upstream.delete_bucket_policy(Bucket=bucket)
            delete_everything(upstream, bucket)
        except ClientError as error:
            print(f"cleanup of {bucket}: {error}", file=sys.stderr)
    finish(results, args.out)


if __name__ == "__main__":
    main()
