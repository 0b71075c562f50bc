//! Image commands: `images`, `pull`, `push`, `load`, `save`, `import`, `tag`, `rmi`, `history`,
//! `image inspect`, `image prune`.

use super::command::{dflt, sw, val, Arity, CliError, Opt, Parsed, Spec};
use super::format::{ellipsis, go_time_string, human_size, rfc3339_secs, short_id};
use super::reference::Reference;
use super::system::{confirm, TABLE_FORMAT_HELP};
use super::table;
use super::template::{Obj, Val};
use super::{block, errln, out, outln, progress, Ctx};
use crate::api::client::path_escape;
use crate::api::client::Query;
use crate::api::client::RequestBody;
use smol::io::{AsyncReadExt, AsyncWriteExt};
use std::io::IsTerminal;

const IMAGES_OPTS: &[Opt] = &[
    sw(
        "all",
        Some('a'),
        "Show all images (default hides intermediate images)",
    ),
    sw("digests", None, "Show digests"),
    val(
        "filter",
        Some('f'),
        "filter",
        "Filter output based on conditions provided",
    ),
    val("format", None, "string", TABLE_FORMAT_HELP),
    sw("no-trunc", None, "Don't truncate output"),
    sw("quiet", Some('q'), "Only show image IDs"),
];
const PULL_OPTS: &[Opt] = &[
    sw(
        "all-tags",
        Some('a'),
        "Download all tagged images in the repository",
    ),
    sw(
        "disable-content-trust",
        None,
        "Skip image verification (default true)",
    ),
    val(
        "platform",
        None,
        "string",
        "Set platform if server is multi-platform capable",
    ),
    sw("quiet", Some('q'), "Suppress verbose output"),
];
const PUSH_OPTS: &[Opt] = &[
    sw(
        "all-tags",
        Some('a'),
        "Push all tags of an image to the repository",
    ),
    sw(
        "disable-content-trust",
        None,
        "Skip image signing (default true)",
    ),
    val(
        "platform",
        None,
        "string",
        "Push a platform-specific manifest as a single-platform image to the registry",
    ),
    sw("quiet", Some('q'), "Suppress verbose output"),
];
const LOAD_OPTS: &[Opt] = &[
    val(
        "input",
        Some('i'),
        "string",
        "Read from tar archive file, instead of STDIN",
    ),
    val(
        "platform",
        None,
        "string",
        "Load only the given platform variant",
    ),
    sw("quiet", Some('q'), "Suppress the load output"),
];
const SAVE_OPTS: &[Opt] = &[
    val(
        "output",
        Some('o'),
        "string",
        "Write to a file, instead of STDOUT",
    ),
    val(
        "platform",
        None,
        "string",
        "Save only the given platform variant",
    ),
];
const IMPORT_OPTS: &[Opt] = &[
    val(
        "change",
        Some('c'),
        "list",
        "Apply Dockerfile instruction to the created image",
    ),
    val(
        "message",
        Some('m'),
        "string",
        "Set commit message for imported image",
    ),
    val(
        "platform",
        None,
        "string",
        "Set platform if server is multi-platform capable",
    ),
];
const RMI_OPTS: &[Opt] = &[
    sw("force", Some('f'), "Force removal of the image"),
    sw("no-prune", None, "Do not delete untagged parents"),
    val(
        "platform",
        None,
        "strings",
        "Remove only the given platform variant",
    ),
];
const HISTORY_OPTS: &[Opt] = &[
    val("format", None, "string", TABLE_FORMAT_HELP),
    dflt(
        "human",
        Some('H'),
        "",
        "Print sizes and dates in human readable format",
        "true",
    ),
    sw("no-trunc", None, "Don't truncate output"),
    val(
        "platform",
        None,
        "string",
        "Show history for the given platform",
    ),
    sw("quiet", Some('q'), "Only show image IDs"),
];
const INSPECT_OPTS: &[Opt] = &[
    val(
        "format",
        Some('f'),
        "string",
        super::inspect::INSPECT_FORMAT_HELP,
    ),
    val(
        "platform",
        None,
        "string",
        "Inspect a specific platform of the multi-platform image",
    ),
];
const PRUNE_OPTS: &[Opt] = &[
    sw(
        "all",
        Some('a'),
        "Remove all unused images, not just dangling ones",
    ),
    val(
        "filter",
        None,
        "filter",
        "Provide filter values (e.g. \"until=<timestamp>\")",
    ),
    sw("force", Some('f'), "Do not prompt for confirmation"),
];

macro_rules! spec {
    ($group:expr, $name:expr, $aliases:expr, $top:expr, $usage:expr, $short:expr, $opts:expr, $arity:expr, $run:expr) => {
        Spec {
            group: $group,
            name: $name,
            aliases: $aliases,
            top: $top,
            usage: $usage,
            short: $short,
            long: "",
            opts: $opts,
            arity: $arity,
            stop_at_first: false,
            run_like: false,
            run: $run,
        }
    };
}
pub(crate) use spec;

pub const SPECS: &[Spec] = &[
    spec!(
        "image",
        "ls",
        &["list"],
        Some("images"),
        "[OPTIONS] [REPOSITORY[:TAG]]",
        "List images",
        IMAGES_OPTS,
        Arity::Max(1),
        images
    ),
    spec!(
        "image",
        "pull",
        &[],
        Some("pull"),
        "[OPTIONS] NAME[:TAG|@DIGEST]",
        "Download an image from a registry",
        PULL_OPTS,
        Arity::Exact(1),
        pull
    ),
    spec!(
        "image",
        "push",
        &[],
        Some("push"),
        "[OPTIONS] NAME[:TAG]",
        "Upload an image to a registry",
        PUSH_OPTS,
        Arity::Exact(1),
        push
    ),
    spec!(
        "image",
        "load",
        &[],
        Some("load"),
        "[OPTIONS]",
        "Load an image from a tar archive or STDIN",
        LOAD_OPTS,
        Arity::None,
        load
    ),
    spec!(
        "image",
        "save",
        &[],
        Some("save"),
        "[OPTIONS] IMAGE [IMAGE...]",
        "Save one or more images to a tar archive (streamed to STDOUT by default)",
        SAVE_OPTS,
        Arity::Min(1),
        save
    ),
    spec!(
        "image",
        "import",
        &[],
        Some("import"),
        "[OPTIONS] file|URL|- [REPOSITORY[:TAG]]",
        "Import the contents from a tarball to create a filesystem image",
        IMPORT_OPTS,
        Arity::Range(1, 2),
        import
    ),
    spec!(
        "image",
        "tag",
        &[],
        Some("tag"),
        "SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]",
        "Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE",
        &[],
        Arity::Exact(2),
        tag
    ),
    spec!(
        "image",
        "rm",
        &["remove"],
        Some("rmi"),
        "[OPTIONS] IMAGE [IMAGE...]",
        "Remove one or more images",
        RMI_OPTS,
        Arity::Min(1),
        rmi
    ),
    spec!(
        "image",
        "history",
        &[],
        Some("history"),
        "[OPTIONS] IMAGE",
        "Show the history of an image",
        HISTORY_OPTS,
        Arity::Exact(1),
        history
    ),
    spec!(
        "image",
        "inspect",
        &[],
        None,
        "[OPTIONS] IMAGE [IMAGE...]",
        "Display detailed information on one or more images",
        INSPECT_OPTS,
        Arity::Min(1),
        image_inspect
    ),
    spec!(
        "image",
        "prune",
        &[],
        None,
        "[OPTIONS]",
        "Remove unused images",
        PRUNE_OPTS,
        Arity::None,
        image_prune
    ),
];

fn i64_of(v: &serde_json::Value, k: &str) -> i64 {
    v.get(k).and_then(|n| n.as_i64()).unwrap_or(0)
}

fn strs(v: &serde_json::Value, k: &str) -> Vec<String> {
    v.get(k)
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub fn image_header() -> Obj {
    table::header(&[
        ("ID", "IMAGE ID"),
        ("Repository", "REPOSITORY"),
        ("Tag", "TAG"),
        ("Digest", "DIGEST"),
        ("CreatedSince", "CREATED"),
        ("CreatedAt", "CREATED AT"),
        ("Size", "SIZE"),
        ("Containers", "CONTAINERS"),
        ("VirtualSize", "SIZE"),
        ("SharedSize", "SHARED SIZE"),
        ("UniqueSize", "UNIQUE SIZE"),
    ])
}

fn image_row(im: &serde_json::Value, repo: &str, tag: &str, digest: &str, trunc: bool) -> Val {
    let id = im.get("Id").and_then(|s| s.as_str()).unwrap_or("");
    let created = i64_of(im, "Created");
    let size = i64_of(im, "Size");
    let shared = im.get("SharedSize").and_then(|n| n.as_i64()).unwrap_or(-1);
    let containers = im.get("Containers").and_then(|n| n.as_i64()).unwrap_or(-1);
    Val::Obj(
        Obj::row()
            .with(
                "Containers",
                if containers == -1 {
                    "N/A".to_string()
                } else {
                    containers.to_string()
                },
            )
            .with("CreatedAt", go_time_string(created))
            .with("CreatedSince", super::format::ago(created as f64))
            .with("Digest", digest)
            .with("ID", if trunc { short_id(id) } else { id.to_string() })
            .with("Repository", repo)
            .with(
                "SharedSize",
                if shared == -1 {
                    "N/A".to_string()
                } else {
                    human_size(shared as f64)
                },
            )
            .with("Size", super::format::human_size_prec(size as f64, 3))
            .with("Tag", tag)
            .with(
                "UniqueSize",
                if shared == -1 || size == -1 {
                    "N/A".to_string()
                } else {
                    human_size((size - shared) as f64)
                },
            )
            .with("VirtualSize", human_size(size as f64)),
    )
}

/// A row of `system df -v`: the first tag only.
pub fn df_image_row(im: &serde_json::Value, trunc: bool) -> Val {
    let tags = strs(im, "RepoTags");
    let (mut repo, mut tag) = ("<none>".to_string(), "<none>".to_string());
    if let Some(first) = tags.first().filter(|t| *t != "<none>:<none>") {
        if let Ok(r) = Reference::parse(first) {
            if let Some(t) = &r.tag {
                repo = r.familiar_name();
                tag = t.clone();
            }
        }
    }
    image_row(im, &repo, &tag, "", trunc)
}

fn is_dangling(im: &serde_json::Value) -> bool {
    let tags = strs(im, "RepoTags");
    let digests = strs(im, "RepoDigests");
    (tags.is_empty() && digests.is_empty())
        || (tags == ["<none>:<none>"] && digests == ["<none>@<none>"])
}

/// The rows one image gives: one per repository tag (times digests when they are shown), then
/// one per repository known only by digest.
fn image_rows(im: &serde_json::Value, show_digest: bool, trunc: bool) -> Vec<Val> {
    if is_dangling(im) {
        return vec![image_row(im, "<none>", "<none>", "<none>", trunc)];
    }
    let mut tags: Vec<(String, Vec<String>)> = Vec::new();
    let mut digests: Vec<(String, Vec<String>)> = Vec::new();
    fn push(v: &mut Vec<(String, Vec<String>)>, k: String, x: String) {
        match v.iter_mut().find(|(r, _)| *r == k) {
            Some((_, l)) => l.push(x),
            None => v.push((k, vec![x])),
        }
    }
    for t in strs(im, "RepoTags") {
        if let Ok(r) = Reference::parse(&t) {
            if let Some(tag) = r.tag.clone() {
                push(&mut tags, r.familiar_name(), tag);
            }
        }
    }
    for d in strs(im, "RepoDigests") {
        if let Ok(r) = Reference::parse(&d) {
            if let Some(dg) = r.digest.clone() {
                push(&mut digests, r.familiar_name(), dg);
            }
        }
    }
    let mut rows = Vec::new();
    for (repo, ts) in &tags {
        let ds: Vec<String> = if show_digest {
            digests
                .iter()
                .find(|(r, _)| r == repo)
                .map(|(_, d)| d.clone())
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        for t in ts {
            if ds.is_empty() {
                rows.push(image_row(im, repo, t, "<none>", trunc));
            }
            for d in &ds {
                rows.push(image_row(im, repo, t, d, trunc));
            }
        }
    }
    for (repo, ds) in &digests {
        if tags.iter().any(|(r, _)| r == repo) {
            continue;
        }
        if show_digest {
            for d in ds {
                rows.push(image_row(im, repo, "<none>", d, trunc));
            }
        } else {
            rows.push(image_row(im, repo, "<none>", "", trunc));
        }
    }
    rows
}

fn images(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let mut filters = p.list("filter");
    if let Some(m) = p.args.first() {
        filters.push(format!("reference={m}"));
    }
    let q = Query::new()
        .flag("all", p.bool("all"))
        .opt("filters", &table::filters_json(&filters)?);
    let api = ctx.api()?;
    let list: Vec<serde_json::Value> = block(api.get("/images/json", &q))?;
    let quiet = p.bool("quiet");
    let mut format = p.str("format");
    if format.is_empty() {
        format = if quiet {
            "table".into()
        } else {
            table::choose("", "imagesFormat", &ctx.config_dir)
        };
    }
    let digests = p.bool("digests");
    let format = match format.as_str() {
        "table" if quiet => "{{.ID}}".to_string(),
        "table" if digests => "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".to_string(),
        "table" => "table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}".to_string(),
        "raw" => "repository: {{ .Repository }}\ntag: {{.Tag}}\nimage_id: {{.ID}}\ncreated_at: {{.CreatedAt}}\nvirtual_size: {{.Size}}\n".to_string(),
        f => f.to_string(),
    };
    let show_digest = digests || format.contains("{{.Digest}}");
    let trunc = !p.bool("no-trunc");
    let rows: Vec<Val> = list
        .iter()
        .flat_map(|im| image_rows(im, show_digest, trunc))
        .collect();
    out(&table::render(&format, &image_header(), &rows)?);
    if let Some(m) = p.args.first() {
        let hints = [
            "build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push",
            "rm", "save", "tag",
        ];
        if list.is_empty() && p.path == "docker images" && hints.contains(&m.as_str()) {
            errln(&format!(
                "\nNo images found matching \"{m}\": did you mean \"docker image {m}\"?"
            ));
        }
    }
    Ok(())
}

/// The tag or digest the API takes next to `fromImage`.
fn api_tag(r: &Reference) -> String {
    r.digest
        .clone()
        .or_else(|| r.tag.clone())
        .unwrap_or_default()
}

fn registry_auth(ctx: &Ctx, r: &Reference) -> Result<String, CliError> {
    let cfg = ctx.config()?;
    Ok(cfg.auth(&r.auth_key()).header())
}

/// `POST /images/create?fromImage=` with progress; used by `pull` and by `run`/`create` when
/// the image is missing. `quiet` hides the progress.
pub fn pull_image(
    ctx: &mut Ctx,
    r: &Reference,
    all: bool,
    platform: &str,
    quiet: bool,
) -> Result<(), CliError> {
    let auth = registry_auth(ctx, r)?;
    let mut q = Query::new().add("fromImage", r.name());
    if !all {
        q = q.add("tag", api_tag(r));
    }
    let q = q.opt("platform", platform);
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send(
                "POST",
                "/images/create",
                &q,
                &[("X-Registry-Auth", auth)],
                RequestBody::Empty,
            )
            .await?;
        if quiet {
            return progress::drain_stream(&mut resp.body).await;
        }
        progress::show_stream(&mut resp.body, |_| {}).await
    })
}

fn pull(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let mut r = Reference::parse(&p.args[0]).map_err(CliError::msg)?;
    let all = p.bool("all-tags");
    let quiet = p.bool("quiet");
    let name_only = r.tag.is_none() && r.digest.is_none();
    if all && !name_only {
        return Err(CliError::msg("tag can't be used with --all-tags/-a"));
    }
    if !all && name_only {
        r = r.with_default_tag();
        if !quiet {
            outln("Using default tag: latest");
        }
    }
    pull_image(ctx, &r, all, &p.str("platform"), quiet)?;
    outln(&r.full());
    Ok(())
}

fn push(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let mut r = Reference::parse(&p.args[0]).map_err(CliError::msg)?;
    let all = p.bool("all-tags");
    let quiet = p.bool("quiet");
    let name_only = r.tag.is_none() && r.digest.is_none();
    if all && !name_only {
        return Err(CliError::msg("tag can't be used with --all-tags/-a"));
    }
    if !all && name_only {
        r = r.with_default_tag();
        if !quiet {
            outln("Using default tag: latest");
        }
    }
    let auth = registry_auth(ctx, &r)?;
    let mut q = Query::new();
    if !all {
        q = q.add("tag", r.tag.clone().unwrap_or_default());
    }
    let q = q.opt("platform", &p.str("platform"));
    let path = format!("/images/{}/push", path_escape(&r.familiar_name()));
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send(
                "POST",
                &path,
                &q,
                &[("X-Registry-Auth", auth)],
                RequestBody::Empty,
            )
            .await?;
        if quiet {
            return progress::drain_stream(&mut resp.body).await;
        }
        progress::show_stream(&mut resp.body, |_| {}).await
    })?;
    if quiet {
        outln(&r.full());
    }
    Ok(())
}

/// An async reader over a file or stdin.
fn input(path: &str) -> Result<Box<dyn smol::io::AsyncRead + Unpin + Send>, CliError> {
    if path.is_empty() || path == "-" {
        return Ok(Box::new(smol::Unblock::new(std::io::stdin())));
    }
    let f = std::fs::File::open(path)
        .map_err(|e| CliError::msg(format!("open {path}: {}", super::format::io_msg(&e))))?;
    Ok(Box::new(smol::Unblock::new(f)))
}

fn load(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let path = p.str("input");
    if path.is_empty() && std::io::stdin().is_terminal() {
        return Err(CliError::msg(
            "requested load from stdin, but stdin is empty",
        ));
    }
    let mut src = input(&path)?;
    let quiet = p.bool("quiet") || !std::io::stdout().is_terminal();
    let q = Query::new().flag("quiet", quiet);
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send(
                "POST",
                "/images/load",
                &q,
                &[("Content-Type", "application/x-tar".into())],
                RequestBody::Reader(&mut *src),
            )
            .await?;
        if resp.headers.get("Content-Type") == Some("application/json") {
            return progress::show_stream(&mut resp.body, |_| {}).await;
        }
        let mut data = Vec::new();
        resp.body
            .read_to_end(&mut data)
            .await
            .map_err(|e| CliError::msg(e.to_string()))?;
        out(&String::from_utf8_lossy(&data));
        Ok(())
    })
}

fn save(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let output = p.str("output");
    if output.is_empty() && std::io::stdout().is_terminal() {
        return Err(CliError::msg(
            "cowardly refusing to save to a terminal. Use the -o flag or redirect",
        ));
    }
    let mut q = Query::new();
    for n in &p.args {
        q = q.add("names", n.clone());
    }
    let api = ctx.api()?;
    block(async {
        let mut resp = api
            .send("GET", "/images/get", &q, &[], RequestBody::Empty)
            .await?;
        if output.is_empty() {
            return super::container::copy_to_stdout(&mut resp.body).await;
        }
        // Written beside the target and renamed into place, so a failed save leaves no torn file.
        let target = std::path::PathBuf::from(&output);
        let tmp = crate::base::fs::temp_sibling(&target);
        let f = std::fs::File::create(&tmp)
            .map_err(|e| CliError::msg(format!("failed to save image: {e}")))?;
        let mut w = smol::Unblock::new(f);
        let r = smol::io::copy(&mut resp.body, &mut w).await;
        let r2 = w.flush().await;
        if let Err(e) = r.and(r2) {
            let _ = std::fs::remove_file(&tmp);
            return Err(CliError::msg(e.to_string()));
        }
        drop(w);
        std::fs::rename(&tmp, &target)
            .map_err(|e| CliError::msg(format!("failed to save image: {e}")))?;
        Ok(())
    })
}

fn import(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let source = &p.args[0];
    let repo = p.args.get(1).cloned().unwrap_or_default();
    if !repo.is_empty() {
        Reference::parse(&repo).map_err(CliError::msg)?;
    }
    let url = source.starts_with("http://") || source.starts_with("https://");
    let mut q = Query::new()
        .add("fromSrc", if url { source.as_str() } else { "-" })
        .opt("repo", &repo)
        .opt("message", &p.str("message"));
    q = q.opt("platform", &p.str("platform").to_lowercase());
    for c in p.list("change") {
        q = q.add("changes", c);
    }
    let mut src = if url { None } else { Some(input(source)?) };
    let api = ctx.api()?;
    block(async {
        let body = match src.as_mut() {
            Some(s) => RequestBody::Reader(&mut **s),
            None => RequestBody::Empty,
        };
        let mut resp = api.send("POST", "/images/create", &q, &[], body).await?;
        progress::show_stream(&mut resp.body, |_| {}).await
    })
}

fn tag(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let target = Reference::parse(&p.args[1]).map_err(|e| {
        CliError::msg(format!(
            "Error parsing reference: {:?} is not a valid repository/tag: {e}",
            p.args[1]
        ))
    })?;
    if target.digest.is_some() {
        return Err(CliError::msg(
            "refusing to create a tag with a digest reference",
        ));
    }
    let target = target.with_default_tag();
    let q = Query::new()
        .add("repo", target.familiar_name())
        .add("tag", target.tag.clone().unwrap_or_default());
    let path = format!("/images/{}/tag", path_escape(&p.args[0]));
    let api = ctx.api()?;
    block(api.call("POST", &path, &q))?;
    Ok(())
}

fn rmi(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let force = p.bool("force");
    let q = Query::new()
        .flag("force", force)
        .flag("noprune", p.bool("no-prune"));
    let api = ctx.api()?;
    let mut errs = Vec::new();
    let mut fatal = false;
    for img in &p.args {
        let path = format!("/images/{}", path_escape(img));
        match block(api.delete::<Vec<serde_json::Value>>(&path, &q)) {
            Ok(items) => {
                for it in items {
                    match it
                        .get("Deleted")
                        .and_then(|d| d.as_str())
                        .filter(|d| !d.is_empty())
                    {
                        Some(d) => outln(&format!("Deleted: {d}")),
                        None => outln(&format!(
                            "Untagged: {}",
                            it.get("Untagged").and_then(|d| d.as_str()).unwrap_or("")
                        )),
                    }
                }
            }
            Err(e) => {
                fatal |= !e.is_not_found();
                errs.push(e.to_string());
            }
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    if !force || fatal {
        return Err(CliError::msg(errs.join("\n")));
    }
    errln(&errs.join("\n"));
    Ok(())
}

fn history(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let path = format!("/images/{}/history", path_escape(&p.args[0]));
    let api = ctx.api()?;
    let list: Vec<serde_json::Value> = block(api.get(&path, &Query::new()))?;
    let human = p.bool_or("human", true);
    let trunc = !p.bool("no-trunc");
    let rows: Vec<Val> = list
        .iter()
        .map(|h| {
            let id = h.get("Id").and_then(|s| s.as_str()).unwrap_or("");
            let created = i64_of(h, "Created");
            let by = h
                .get("CreatedBy")
                .and_then(|s| s.as_str())
                .unwrap_or("")
                .replace('\t', " ");
            let size = i64_of(h, "Size");
            Val::Obj(
                Obj::row()
                    .with(
                        "Comment",
                        h.get("Comment").and_then(|s| s.as_str()).unwrap_or(""),
                    )
                    .with("CreatedAt", rfc3339_secs(created))
                    .with("CreatedBy", if trunc { ellipsis(&by, 45) } else { by })
                    .with(
                        "CreatedSince",
                        if human {
                            super::format::ago(created as f64)
                        } else {
                            rfc3339_secs(created)
                        },
                    )
                    .with(
                        "ID",
                        if trunc && id != "<missing>" {
                            short_id(id)
                        } else {
                            id.to_string()
                        },
                    )
                    .with(
                        "Size",
                        if human {
                            super::format::human_size_prec(size as f64, 3)
                        } else {
                            size.to_string()
                        },
                    ),
            )
        })
        .collect();
    let mut format = p.str("format");
    if format.is_empty() || format == "table" {
        format = if p.bool("quiet") {
            "{{.ID}}".into()
        } else {
            "table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}".into()
        };
    }
    let h = table::header(&[
        ("ID", "IMAGE"),
        ("CreatedSince", if human { "CREATED" } else { "CREATED AT" }),
        ("CreatedAt", "CREATED AT"),
        ("CreatedBy", "CREATED BY"),
        ("Size", "SIZE"),
        ("Comment", "COMMENT"),
    ]);
    out(&table::render(&format, &h, &rows)?);
    Ok(())
}

fn image_inspect(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let api = ctx.api()?;
    super::inspect::run_inspect(&p.str("format"), &p.args, |r| {
        if r.is_empty() {
            return Err("Error response from daemon: no such image: ".to_string());
        }
        block(api.get_raw(&format!("/images/{}/json", path_escape(r)), &Query::new()))
            .map_err(|e| e.to_string())
    })
}

fn image_prune(ctx: &mut Ctx, p: &Parsed) -> Result<(), CliError> {
    let all = p.bool("all");
    if !p.bool("force") {
        let msg = if all {
            "WARNING! This will remove all images without at least one container associated to them.\nAre you sure you want to continue?"
        } else {
            "WARNING! This will remove all dangling images.\nAre you sure you want to continue?"
        };
        if !confirm(msg) {
            return Ok(());
        }
    }
    let r = super::system::prune_images(ctx, &p.list("filter"), all)?;
    if !r.text.is_empty() {
        outln(&r.text);
    }
    outln(&format!(
        "Total reclaimed space: {}",
        human_size(r.space as f64)
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_per_tag_and_digest() {
        let im: serde_json::Value = serde_json::from_str(
            r#"{"Id":"sha256:9f27a38a616979eaf28207c2d2670a9c3980941c75965700f081635a10c2706c","Created":0,"Size":2249728,"SharedSize":-1,"Containers":-1,
            "RepoTags":["127.0.0.1:5123/small:v1","small:peer"],"RepoDigests":["127.0.0.1:5123/small@sha256:11f89fe128be6b2d86e798c3ddce0b08002fa7ca8862d8db484a6d13863cbf8b"]}"#,
        )
        .unwrap();
        let rows = image_rows(&im, true, true);
        assert_eq!(rows.len(), 2);
        let t = super::super::template::Template::parse(
            "{{.Repository}} {{.Tag}} {{.Digest}} {{.ID}} {{.Size}}",
        )
        .unwrap();
        assert_eq!(
            t.execute(&rows[0]).unwrap(),
            "127.0.0.1:5123/small v1 sha256:11f89fe128be6b2d86e798c3ddce0b08002fa7ca8862d8db484a6d13863cbf8b 9f27a38a6169 2.25MB"
        );
        assert_eq!(
            t.execute(&rows[1]).unwrap(),
            "small peer <none> 9f27a38a6169 2.25MB"
        );
        let dangling: serde_json::Value =
            serde_json::from_str(r#"{"Id":"sha256:ab","RepoTags":null,"RepoDigests":null}"#)
                .unwrap();
        assert_eq!(
            t.execute(&image_rows(&dangling, false, true)[0]).unwrap(),
            "<none> <none> <none> ab 0B"
        );
    }
}
