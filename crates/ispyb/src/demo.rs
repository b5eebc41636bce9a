//! `ispyb demo`: a private MariaDB under `var/demo`, the schema created from the models,
//! synthetic data, and the server on 127.0.0.1:8000 with the dummy login.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use ispyb_api::auth::plugins::AuthPlugins;
use ispyb_api::config::Config;

use crate::embedded::EmbeddedMariaDb;

/// Options of `ispyb demo`.
#[derive(Args)]
pub struct DemoArgs {
    /// Folder of the private MariaDB (datadir, socket, log).
    #[arg(long, default_value = "var/demo")]
    pub dir: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8000")]
    pub bind: String,
    /// Size of the synthetic facility (1,000 data collections per unit).
    #[arg(long, default_value_t = 1)]
    pub scale: u32,
    /// Drop the demo database and create it again.
    #[arg(long)]
    pub fresh: bool,
}

const DEMO_DB: &str = "ispyb_demo";

/// Runs the demo until Ctrl-C, then stops the private MariaDB.
pub async fn run(config_file: Option<&Path>, args: DemoArgs) -> anyhow::Result<()> {
    eprintln!("starting a private MariaDB in {}", args.dir.display());
    let server = EmbeddedMariaDb::start(&args.dir).await?;
    // The demo's files (placeholder images) live beside its database; the database's paths
    // are mapped there, as PATH_MAP maps a beamline's /data at a site.
    let files = args.dir.canonicalize()?.join("files");
    let figment = Config::figment(config_file)?
        .merge(("bind", args.bind.clone()))
        .merge(("secret_key", random_secret()))
        .merge(("allow_dummy_auth", true))
        .merge(("path_map", files.display().to_string()))
        .merge(("data_roots", files.display().to_string()));
    let config = Config::from_figment(figment)?;
    crate::logging::init(config.log_format);
    let result = async {
        let admin = ispyb_db::connect(&server.url(""), &Default::default()).await?;
        let fresh = args.fresh || !ispyb_db::schema::database_exists(&admin, DEMO_DB).await?;
        if fresh {
            ispyb_db::schema::recreate_database(&admin, DEMO_DB).await?;
        }
        admin.close().await;
        let db = ispyb_db::connect(&server.url(DEMO_DB), &Default::default()).await?;
        if fresh {
            eprintln!("creating the schema and demo data (scale {})…", args.scale);
            ispyb_db::schema::create(&db).await.context("creating the schema")?;
            let opts = ispyb_db::seed::SeedOptions { scale: args.scale, ..Default::default() };
            ispyb_db::seed::run(&db, &opts, &|_, _, _| {}).await.context("seeding demo data")?;
            draw_images(&db, &files).await?;
        }
        crate::serve::check_schema(&db, false).await?;
        let base = format!("http://{}", config.bind);
        println!("ISPyB demo running at {base}{}", config.api_root);
        println!("  API docs:  {base}/docs  (Redoc: {base}/redoc)");
        println!(
            "  log in:    curl -X POST {base}{}/auth/login -H 'content-type: application/json' -d '{{\"plugin\":\"dummy\",\"login\":\"user1\",\"password\":\"x\"}}'",
            config.api_root
        );
        println!("  logins:    admin (all proposals), staff (MX beamline staff), user1, user2, user3; any password");
        println!("  stop with Ctrl-C");
        crate::serve::serve_with(db, config, AuthPlugins::dummy_only()).await
    }
    .await;
    eprintln!("stopping the private MariaDB");
    server.stop().await;
    result
}

/// Draws a small placeholder PNG at every PNG path of the demo data (a different pattern
/// per file), under `root`.
async fn draw_images(db: &ispyb_db::Db, root: &Path) -> anyhow::Result<()> {
    let paths = ispyb_db::seed::demo_image_paths(db).await?;
    for (i, path) in paths.iter().enumerate() {
        let relative = path.trim_start_matches('/');
        // Only PNG paths get a picture: a PNG under another name would lie about its type.
        if !relative.ends_with(".png") || relative.split('/').any(|part| part == "..") {
            continue;
        }
        let target = root.join(relative);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let phase = i as f64 * 0.37;
        let rows: Vec<Vec<f64>> = (0..64)
            .map(|y| {
                (0..64).map(|x| ((x as f64 / 7.0 + phase).sin() * (y as f64 / 9.0 - phase).cos() + 1.0) / 2.0).collect()
            })
            .collect();
        std::fs::write(&target, ispyb_api::routes::mapping::render_png(&rows, 0.0, 1.0, "viridis")?)?;
    }
    eprintln!("drew {} demo images under {}", paths.len(), root.display());
    Ok(())
}

/// A per-run signing key: demo tokens die with the demo.
fn random_secret() -> String {
    use std::fmt::Write as _;
    let bytes: [u8; 32] = rand_bytes();
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

fn rand_bytes() -> [u8; 32] {
    ispyb_db::random_bytes()
}
