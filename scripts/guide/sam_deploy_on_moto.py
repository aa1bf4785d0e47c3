#!/usr/bin/env python3
"""`sam deploy` as moto's CloudFormation can take it, for scripts/deploy-guide-check.sh.

moto ignores the AWS::Serverless-2016-10-31 transform, so the template is transformed here, offline,
with aws-sam-translator (what CloudFormation does on AWS), the code pointed at tiny zips in moto's
S3 (what `sam deploy` uploads), two moto gaps worked around, and the stack created. Takes the
arguments of `sam deploy` that docs/deploy.md uses: --stack-name, --region, --parameter-overrides
(Key=Value words), --capabilities, --resolve-s3, --template-file; run from infra/ as sam is.

What moto does not check, this cannot either: parameter constraints, IAM, Lambda quotas, the
arm64 architecture (docs/deploy.md says so).
"""
import argparse
import copy
import io
import json
import os
import sys
import zipfile

import boto3
from samtranslator.internal.managed_policies import _BUNDLED_MANAGED_POLICIES  # type: ignore
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

BUCKET = "switchboard-guide-artifacts"


class OfflinePolicies:
    """aws-sam-translator asks IAM for AWS managed policies by name; the template names none, and
    the map bundled with the translator answers offline."""

    def load(self):
        return dict(_BUNDLED_MANAGED_POLICIES["aws"])


def tiny_zip(name, body):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr(name, body)
    return out.getvalue()


def upload_code(sam, s3, region):
    """`sam deploy` uploads each function's and layer's folder; here a stand-in zip each."""
    where = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=BUCKET, **where)
    code = tiny_zip("bootstrap", b"#!/bin/sh\nexit 0\n")
    sam.get("Globals", {}).get("Function", {}).pop("CodeUri", None)
    for name, resource in sam["Resources"].items():
        props = resource.setdefault("Properties", {})
        if resource["Type"] == "AWS::Serverless::Function":
            props["CodeUri"] = f"s3://{BUCKET}/{name}.zip"
            s3.put_object(Bucket=BUCKET, Key=f"{name}.zip", Body=code)
        elif resource["Type"] == "AWS::Serverless::LayerVersion":
            props["ContentUri"] = f"s3://{BUCKET}/{name}.zip"
            s3.put_object(Bucket=BUCKET, Key=f"{name}.zip", Body=tiny_zip("switchboard/encoder.bin", b"-"))


def holds(condition, template, params):
    """A condition built from parameters alone (Equals, Not, And, Or, Ref, Condition)."""
    if not isinstance(condition, dict):
        return condition
    (fn, arg), = condition.items()
    if fn == "Ref":
        return params.get(arg, str(template["Parameters"][arg].get("Default", "")))
    if fn == "Condition":
        return holds(template["Conditions"][arg], template, params)
    if fn == "Fn::Equals":
        return str(holds(arg[0], template, params)) == str(holds(arg[1], template, params))
    if fn == "Fn::Not":
        return not holds(arg[0], template, params)
    if fn == "Fn::And":
        return all(holds(a, template, params) for a in arg)
    if fn == "Fn::Or":
        return any(holds(a, template, params) for a in arg)
    raise ValueError(f"condition function {fn}")


def drop_novalue_items(node, template, params):
    """CloudFormation removes a list item that is `!If [c, x, !Ref AWS::NoValue]` when c is false;
    moto leaves a None there (and fails on it)."""
    if isinstance(node, dict):
        return {k: drop_novalue_items(v, template, params) for k, v in node.items()}
    if isinstance(node, list):
        kept = []
        for item in node:
            if isinstance(item, dict) and set(item) == {"Fn::If"}:
                name, yes, no = item["Fn::If"]
                item = yes if holds(template["Conditions"][name], template, params) else no
                if item == {"Ref": "AWS::NoValue"}:
                    continue
            kept.append(drop_novalue_items(item, template, params))
        return kept
    return node


def moto_gaps(template, params):
    template["Resources"] = drop_novalue_items(template["Resources"], template, params)
    for name, resource in template["Resources"].items():
        props = resource.get("Properties", {})
        # CloudFormation names a FIFO queue `<stack>-<id>-<suffix>.fifo`; moto forgets `.fifo`.
        if resource["Type"] == "AWS::SQS::Queue" and props.get("FifoQueue") and "QueueName" not in props:
            props["QueueName"] = {"Fn::Sub": "${AWS::StackName}-" + name + ".fifo"}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--stack-name", required=True)
    p.add_argument("--region", default=os.environ.get("AWS_REGION", "us-east-1"))
    p.add_argument("--template-file", default="template.yaml")
    p.add_argument("--parameter-overrides", nargs="*", default=[])
    p.add_argument("--capabilities", nargs="*", default=[])
    p.add_argument("--resolve-s3", action="store_true")
    p.add_argument("--no-confirm-changeset", action="store_true")
    a = p.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", a.region)
    s3 = boto3.client("s3", region_name=a.region)
    cf = boto3.client("cloudformation", region_name=a.region)
    with open(a.template_file) as f:
        sam = yaml_parse(f.read())
    params = dict(word.split("=", 1) for word in a.parameter_overrides)
    unknown = sorted(set(params) - set(sam["Parameters"]))
    if unknown:
        sys.exit(f"sam deploy: the template has no parameter {', '.join(unknown)}")
    upload_code(sam, s3, a.region)
    template = transform(copy.deepcopy(sam), params, OfflinePolicies())
    moto_gaps(template, params)
    cf.create_stack(
        StackName=a.stack_name,
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
        Capabilities=a.capabilities or ["CAPABILITY_IAM"],
    )
    stack = cf.describe_stacks(StackName=a.stack_name)["Stacks"][0]
    print(f"sam deploy (on moto): stack {a.stack_name} {stack['StackStatus']}")
    for output in stack.get("Outputs", []):
        print(f"  {output['OutputKey']} = {output['OutputValue']}")
    return 0 if stack["StackStatus"] == "CREATE_COMPLETE" else 1


if __name__ == "__main__":
    sys.exit(main())
