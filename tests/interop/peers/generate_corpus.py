"""Writes one freshly signed Response per case, for a service at SERVICE_URL
and the AWS account ACCOUNT:

    generate_corpus.py OUT_DIR SERVICE_URL ACCOUNT

OUT_DIR/<case>.xml is the Response (as the peer wrote it, not base64),
OUT_DIR/<case>.metadata.xml the IdP metadata to register as the SAML provider
named in the manifest, and OUT_DIR/manifest.json maps each case id to what
it is and what idbroker must make of it. Responses are valid for 5 minutes.
Run it with the interop venv's Python (target/interop-venv), after
scripts/test.sh has installed the peers."""
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peers import cases, selfcheck  # noqa: E402


def write_corpus(out_dir: Path, service_url: str, account: str) -> dict:
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for case in cases.CASES:
        built = cases.build(case, service_url.rstrip("/"), account)
        selfcheck.check(case, built.xml)
        role, provider = cases.arns(case, account)
        (out_dir / f"{case.id}.xml").write_bytes(built.xml)
        (out_dir / f"{case.id}.metadata.xml").write_text(cases.metadata(case))
        manifest[case.id] = {
            "signer": case.signer, "vendor": case.vendor, "placement": case.placement,
            "algorithm": case.algorithm, "key_info": case.key_info, "prefix_list": case.prefix_list,
            "file": f"{case.id}.xml", "metadata": f"{case.id}.metadata.xml",
            "role_arn": role, "provider_arn": provider,
            "session_name": built.claims.session_name, "name_id": built.claims.name_id,
            "name_id_format": built.claims.name_id_format, "issuer": built.claims.issuer,
            "not_on_or_after": built.claims.not_on_or_after,
        }
    (out_dir / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    manifest = write_corpus(Path(argv[1]), argv[2], argv[3])
    print(f"wrote {len(manifest)} responses to {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
