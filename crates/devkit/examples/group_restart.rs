//! Experiment: how long a restarted consumer group member waits on Tansu.
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use rdkafka::ClientConfig;
use rdkafka::Message;

fn consume(brokers: &str, group: &str, n: usize, instance: Option<String>, session: &str) {
    let mut handles = vec![];
    for w in 0..n {
        let brokers = brokers.to_string();
        let group = group.to_string();
        let instance = instance.clone();
        let session = session.to_string();
        handles.push(std::thread::spawn(move || {
            let mut cfg = ClientConfig::new();
            cfg.set("bootstrap.servers", &brokers)
                .set("group.id", &group)
                .set("enable.auto.commit", "false")
                .set("auto.offset.reset", "earliest")
                .set("partition.assignment.strategy", "roundrobin")
                .set("session.timeout.ms", &session)
                .set("heartbeat.interval.ms", "1000")
                .set("max.poll.interval.ms", "300000");
            if let Some(i) = &instance {
                cfg.set("group.instance.id", format!("{i}-{w}"));
            }
            if let Ok(d) = std::env::var("RDDEBUG") {
                cfg.set("debug", d);
            }
            let c: BaseConsumer = cfg.create().unwrap();
            c.subscribe(&["t"]).unwrap();
            let start = Instant::now();
            if let Ok(d) = std::env::var("DELAY_MS") {
                std::thread::sleep(Duration::from_millis(d.parse().unwrap()));
            }
            let mut first = true;
            loop {
                match c.poll(Duration::from_millis(100)) {
                    Some(Ok(m)) => {
                        if first {
                            println!("FIRST {w} {:.1}", start.elapsed().as_secs_f64());
                            first = false;
                        }
                        let mut l = rdkafka::TopicPartitionList::new();
                        l.add_partition_offset(
                            "t",
                            m.partition(),
                            rdkafka::Offset::Offset(m.offset() + 1),
                        )
                        .unwrap();
                        let _ = c.commit(&l, rdkafka::consumer::CommitMode::Async);
                    }
                    Some(Err(e)) => eprintln!("err {e}"),
                    None => {}
                }
            }
        }));
    }
    for h in handles {
        let _ = h.join();
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("produce") {
        let p: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &args[2])
            .create()
            .unwrap();
        let text = std::fs::read_to_string(&args[4]).unwrap();
        for (i, line) in text.lines().enumerate() {
            let key = format!("k{i}");
            let mut rec = BaseRecord::to(&args[3]).key(&key).payload(line);
            loop {
                match p.send(rec) {
                    Ok(()) => break,
                    Err((_, r)) => {
                        rec = r;
                        p.poll(Duration::from_millis(50));
                    }
                }
            }
            p.poll(Duration::ZERO);
        }
        p.flush(Duration::from_secs(30)).unwrap();
        return;
    }
    if args.get(1).map(String::as_str) == Some("consume") {
        let inst = args.get(5).cloned().filter(|s| s != "-");
        consume(&args[2], &args[3], args[4].parse().unwrap(), inst, &args[6]);
        return;
    }
    let workers: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(2);
    let static_id = args.get(2).cloned().unwrap_or("-".into());
    let session = args.get(3).cloned().unwrap_or("10000".into());
    let kills: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(5);
    let dir = tempfile::tempdir().unwrap();
    let broker = panelflow_devkit::broker::Broker::start(dir.path(), None).unwrap();
    let k = panelflow_connectors::kafka::KafkaSection {
        brokers: broker.bootstrap(),
        topic: "t".into(),
        dead_letter_topic: "t.dl".into(),
        scores_topic: String::new(),
        ratings_topic: String::new(),
        decisions_topic: String::new(),
        demographics_topic: String::new(),
        partitions: 4,
        ..Default::default()
    };
    tokio::runtime::Runtime::new()
        .unwrap()
        .block_on(panelflow_connectors::kafka::ensure_topics(&k))
        .unwrap();
    let bs = broker.bootstrap();
    std::thread::spawn(move || {
        let p: BaseProducer = ClientConfig::new()
            .set("bootstrap.servers", &bs)
            .create()
            .unwrap();
        let mut i = 0u64;
        loop {
            let key = format!("k{i}");
            let _ = p.send(
                BaseRecord::to("t")
                    .key(&key)
                    .payload("x")
                    .partition((i % 4) as i32),
            );
            p.poll(Duration::ZERO);
            i += 1;
            std::thread::sleep(Duration::from_millis(50));
            if i.is_multiple_of(20) {
                let _ = p.flush(Duration::from_secs(1));
            }
        }
    });
    let exe = std::env::current_exe().unwrap();
    let mut times = vec![];
    for k in 0..kills {
        let t0 = Instant::now();
        let mut child = Command::new(&exe)
            .args([
                "consume",
                &broker.bootstrap(),
                "g",
                &workers.to_string(),
                &static_id,
                &session,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for l in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(l);
            }
        });
        let mut got = 0;
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut t_first = None;
        while Instant::now() < deadline {
            if let Ok(l) = rx.recv_timeout(Duration::from_millis(100)) {
                if l.starts_with("FIRST") {
                    got += 1;
                    if t_first.is_none() {
                        t_first = Some(t0.elapsed().as_secs_f64());
                    }
                    if got >= workers.min(4) {
                        break;
                    }
                }
            }
        }
        let all = t0.elapsed().as_secs_f64();
        println!(
            "run {k}: first consumer {:?} s, all {} consumers {:.1} s (got {got})",
            t_first, workers, all
        );
        times.push(all);
        // Let it run a random while, then kill.
        std::thread::sleep(Duration::from_millis(500 + (k as u64 * 737) % 3000));
        let _ = child.kill();
        let _ = child.wait();
    }
    println!("times {times:?}");
    let log = std::fs::read_to_string(broker.log_path()).unwrap_or_default();
    println!("broker log lines {}", log.lines().count());
    for l in log
        .lines()
        .filter(|l| l.contains("missed heartbeat"))
        .take(10)
    {
        println!("{l}");
    }
}
