// A receiver certificate for the benchmarks, from the local stack's CA (.local/tls, made by the
// stack): it covers `*.loopback.cjh.test` (what the dispatcher is given) and IP 127.0.0.1 (what
// fetch is given: it resolves names through the system, where the stack's names do not exist).
import { stack } from "../tests/_support/stack.ts";

/** A new EC P-256 leaf signed by the local CA, valid for two days: `{ cert, key }` in PEM. */
export async function benchCertificate(): Promise<{ cert: string; key: string }> {
  const ca = stack.CJH_RECEIVER_CERT_FILE.replace(/receiver\.pem$/, "ca.pem");
  const caKey = ca.replace(/ca\.pem$/, "ca-key.pem");
  const dir = await Deno.makeTempDir({ prefix: "cjh-bench-tls-" });
  const openssl = async (...args: string[]) => {
    const { code, stderr } = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null" }).output();
    if (code !== 0) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(stderr)}`);
  };
  await Deno.writeTextFile(
    `${dir}/leaf.ext`,
    `subjectAltName=DNS:*.${stack.CJH_RECEIVER_DOMAIN},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n`,
  );
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  await openssl("req", ...ec, "-keyout", "key.pem", "-out", "leaf.csr", "-subj", "/CN=bench");
  await openssl(
    "x509",
    "-req",
    "-in",
    "leaf.csr",
    "-CA",
    ca,
    "-CAkey",
    caKey,
    "-CAcreateserial",
    "-CAserial",
    `${dir}/ca.srl`,
    "-out",
    "cert.pem",
    "-days",
    "2",
    "-extfile",
    "leaf.ext",
  );
  const certificate = {
    cert: await Deno.readTextFile(`${dir}/cert.pem`),
    key: await Deno.readTextFile(`${dir}/key.pem`),
  };
  await Deno.remove(dir, { recursive: true });
  return certificate;
}
