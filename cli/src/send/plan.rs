//! What `send` has still to deliver, and to whom, sans-IO: the one owner of which chunks of
//! which item go to which member, so that two deliveries do not send a member the same range.
//! The delivery to everyone comes first; behind it queue a late joiner's whole items and what
//! a member asks for again, one job per member and item.

use std::collections::{HashMap, VecDeque};

/// Why a delivery runs; what a later event does to it depends on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    /// The user's item, to everyone (or to `--to`'s addressee).
    Main,
    /// A member that joined while the items went out gets each one whole, as the web client's
    /// recent items: it has none of their metadata.
    Joined,
    /// A member asked for the item again, from its first missing chunk.
    Asked,
}

/// One delivery of an item: to everyone, or to one member, chunks `from` up to `until`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Job {
    pub item: usize,
    pub to: Option<String>,
    pub from: u64,
    /// Its chunks end before this one (the item's count: to its end).
    pub until: u64,
    pub why: Why,
}

/// The job being delivered now.
struct Running {
    item: usize,
    to: Option<String>,
    why: Why,
    /// The first chunk it has still to send (`Window::still_to_send`).
    front: u64,
    /// No longer wanted: it stops at its next look.
    dropped: bool,
}

pub struct Plan {
    /// Each item's chunk count.
    totals: Vec<u64>,
    queue: VecDeque<Job>,
    running: Option<Running>,
    /// Items whose delivery to everyone has started; a member who joins now needs these
    /// from chunk 0, and gets the others with everyone.
    begun: usize,
    /// `begun` at our last rejoin: a member back from before it was there when these began.
    begun_at_rejoin: usize,
    /// `--to`: the one member the items are for. Nobody else gets them: not late joiners,
    /// not a member asking for them again.
    addressee: Option<String>,
    /// Whether members who join meanwhile get what was sent so far.
    late_joiners: bool,
    /// Where the delivery to everyone now running reaches a member that came while it ran:
    /// the first chunk it had still to send then. Each chunk from there on, sent after the
    /// server told us of the member, went to it too; each one before went before it was there,
    /// or was in flight.
    reach: HashMap<String, u64>,
    /// The same for the members in the session at our last rejoin, that delivery's front once
    /// it started again: it sends them every chunk not acknowledged before the drop.
    reach_at_rejoin: Option<u64>,
}

impl Plan {
    /// Each item (of `totals` chunks) to everyone, or to `addressee` alone.
    pub fn new(totals: Vec<u64>, addressee: Option<String>, late_joiners: bool) -> Plan {
        let queue = totals
            .iter()
            .enumerate()
            .map(|(item, &total)| Job {
                item,
                to: addressee.clone(),
                from: 0,
                until: total,
                why: Why::Main,
            })
            .collect();
        Plan {
            totals,
            queue,
            running: None,
            begun: 0,
            begun_at_rejoin: 0,
            addressee,
            late_joiners,
            reach: HashMap::new(),
            reach_at_rejoin: None,
        }
    }

    /// The next job, which runs until [`finished`](Self::finished).
    pub fn next(&mut self) -> Option<Job> {
        let job = self.queue.pop_front()?;
        if job.why == Why::Main {
            self.begun = self.begun.max(job.item + 1);
            self.reach.clear();
            self.reach_at_rejoin = None;
        }
        self.running = Some(Running {
            item: job.item,
            to: job.to.clone(),
            why: job.why,
            front: job.from,
            dropped: false,
        });
        Some(job)
    }

    /// The running job has still to send chunk `front` and what is unacknowledged after it.
    pub fn at(&mut self, front: u64) {
        if let Some(r) = self.running.as_mut() {
            r.front = front;
        }
    }

    /// The member the running job is for now (it follows one back under a new id), or
    /// `None` for everyone.
    pub fn to(&self) -> Option<&str> {
        self.running.as_ref().and_then(|r| r.to.as_deref())
    }

    /// Whether the running job is no longer wanted.
    pub fn dropped(&self) -> bool {
        self.running.as_ref().is_some_and(|r| r.dropped)
    }

    pub fn finished(&mut self) {
        self.running = None;
    }

    /// We are back in the session on a new connection (the running job has started again);
    /// members missing may come back.
    pub fn rejoined(&mut self) {
        self.begun_at_rejoin = self.begun;
        self.reach.clear();
        self.reach_at_rejoin = self.main_front();
    }

    /// The first chunk the delivery to everyone has still to send, while it runs.
    fn main_front(&self) -> Option<u64> {
        self.running
            .as_ref()
            .filter(|r| r.why == Why::Main)
            .map(|r| r.front)
    }

    /// `member` joined: a late joiner gets every item begun so far, whole.
    pub fn joined(&mut self, member: &str) {
        if let Some(front) = self.main_front() {
            self.reach.insert(member.into(), front);
        }
        if !self.late_joiners {
            return;
        }
        for item in 0..self.begun {
            self.queue.push_back(Job {
                item,
                to: Some(member.into()),
                from: 0,
                until: self.totals[item],
                why: Why::Joined,
            });
        }
    }

    /// A member missing after our rejoin is back as `member`, `was` before. Its jobs follow it,
    /// the running one too, and so does `--to`: the room knew it again (by its device, or in
    /// format 2 by its name), so it is the same addressee (an addressed send is otherwise
    /// refused by the server for the old id, and would refuse the resend requests of the new
    /// one).
    /// Under a new id (a restarted server that kept nothing), its `client-joined` came first
    /// and looked like a stranger's, so it was given whole items as a late joiner; but of the
    /// items begun before the drop it has the metadata and what arrived, and it asks for the
    /// rest from its first missing chunk: given whole as well, they went twice.
    pub fn returned(&mut self, member: &str, was: &str) {
        // Under its old id it is back now; under a new one its `client-joined` said when, or
        // it was there at our rejoin.
        if let (true, Some(front)) = (member == was, self.main_front()) {
            self.reach.entry(member.into()).or_insert(front);
        }
        if member != was {
            let before_drop = self.begun_at_rejoin;
            let stale = |why: Why, item: usize, to: Option<&str>| {
                why == Why::Joined && item < before_drop && to == Some(member)
            };
            self.queue
                .retain(|j| !stale(j.why, j.item, j.to.as_deref()));
            if let Some(r) = self.running.as_mut() {
                r.dropped |= stale(r.why, r.item, r.to.as_deref());
            }
        }
        let tos = self.queue.iter_mut().map(|j| &mut j.to);
        let running = self.running.as_mut().map(|r| &mut r.to);
        for to in tos.chain(running).chain([&mut self.addressee]) {
            if to.as_deref() == Some(was) {
                *to = Some(member.into());
            }
        }
    }

    /// `member` left for good: nothing more for it.
    pub fn left(&mut self, member: &str) {
        self.queue.retain(|j| j.to.as_deref() != Some(member));
    }

    /// `member` asks for `item` again from chunk `from`: it gets what the delivery to everyone
    /// does not send it (that one reaches it from where it was when the member came, or its
    /// front for a member it does not know), in the job it already has queued for the item if
    /// any. From an addressed send only the addressee is answered.
    pub fn asked(&mut self, item: usize, member: &str, from: u64) {
        if self.addressee.as_ref().is_some_and(|a| a != member) {
            return;
        }
        let total = self.totals[item];
        let from = from.min(total - 1);
        let until = match &self.running {
            Some(r) if r.why == Why::Main && r.item == item => self
                .reach
                .get(member)
                .copied()
                .or(self.reach_at_rejoin)
                .unwrap_or(r.front),
            _ => total,
        };
        if from >= until {
            return;
        }
        let queued = self
            .queue
            .iter_mut()
            .find(|j| j.why != Why::Main && j.item == item && j.to.as_deref() == Some(member));
        match queued {
            Some(job) => {
                job.from = job.from.min(from);
                job.until = job.until.max(until);
            }
            None => self.queue.push_back(Job {
                item,
                to: Some(member.into()),
                from,
                until,
                why: Why::Asked,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(item: usize, to: &str, from: u64, until: u64, why: Why) -> Job {
        Job {
            item,
            to: Some(to.into()),
            from,
            until,
            why,
        }
    }

    /// Runs the plan's jobs to their end, as `send` does, and returns them.
    fn rest(plan: &mut Plan) -> Vec<Job> {
        std::iter::from_fn(|| {
            let job = plan.next();
            plan.finished();
            job
        })
        .collect()
    }

    #[test]
    fn a_member_back_under_a_new_id_gets_what_it_asks_for_not_the_whole_item_again() {
        // restart.test.mjs, the sender back first: 256 MiB in 1,024 chunks; the delivery to
        // everyone starts again at 110 on the new connection.
        let mut plan = Plan::new(vec![1024], None, true);
        assert_eq!(plan.next().unwrap().why, Why::Main);
        plan.at(110);
        plan.rejoined();
        // The receiver's `client-joined` (a new id, a stranger as far as it shows), then its
        // hello: the receiver from before. Chunks from 112 on go to it with everyone's.
        plan.at(112);
        plan.joined("new");
        plan.returned("new", "old");
        plan.at(123);
        plan.asked(0, "new", 102);
        plan.finished();
        assert_eq!(rest(&mut plan), [job(0, "new", 102, 112, Why::Asked)]);
    }

    #[test]
    fn a_member_back_first_gets_what_lies_before_the_restart_of_the_delivery() {
        // The receiver back first: in our rejoin's member list, it gets every chunk the
        // delivery to everyone sends again, from 100.
        let mut plan = Plan::new(vec![1024], None, true);
        plan.next();
        plan.at(100);
        plan.rejoined();
        plan.at(104);
        plan.returned("new", "old");
        plan.at(120);
        plan.asked(0, "new", 96);
        // One that comes back under its old id gets what went while it was away.
        plan.returned("a", "a");
        plan.at(130);
        plan.asked(0, "a", 90);
        plan.finished();
        assert_eq!(
            rest(&mut plan),
            [
                job(0, "new", 96, 100, Why::Asked),
                job(0, "a", 90, 120, Why::Asked),
            ]
        );
    }

    #[test]
    fn a_whole_item_already_going_to_a_member_back_under_a_new_id_stops() {
        let mut plan = Plan::new(vec![1024], None, true);
        plan.next();
        plan.rejoined();
        plan.finished();
        // The delivery to everyone ended before the receiver was back.
        plan.joined("new");
        assert_eq!(plan.next(), Some(job(0, "new", 0, 1024, Why::Joined)));
        assert!(!plan.dropped());
        plan.returned("new", "old");
        assert!(plan.dropped());
        plan.asked(0, "new", 1000);
        plan.finished();
        assert_eq!(rest(&mut plan), [job(0, "new", 1000, 1024, Why::Asked)]);
    }

    #[test]
    fn a_member_back_keeps_whole_the_items_begun_while_it_was_away_and_its_own_late_ones() {
        let mut plan = Plan::new(vec![10, 20, 30], None, true);
        plan.next();
        plan.joined("a"); // a late joiner before the drop: item 0 whole
        plan.finished();
        plan.next(); // item 1 begins
        plan.rejoined();
        plan.finished();
        plan.next(); // item 2 begins while the members are away
        plan.joined("b");
        plan.returned("b", "a");
        plan.finished();
        // Item 0: its own late joiner's job, now under its new id; item 2: it had no metadata.
        assert_eq!(
            rest(&mut plan),
            [
                job(0, "b", 0, 10, Why::Joined),
                job(2, "b", 0, 30, Why::Joined)
            ]
        );
    }

    #[test]
    fn a_member_back_under_the_same_id_keeps_its_jobs() {
        let mut plan = Plan::new(vec![10], None, true);
        plan.next();
        plan.joined("a");
        plan.rejoined();
        plan.returned("a", "a");
        plan.finished();
        assert_eq!(rest(&mut plan), [job(0, "a", 0, 10, Why::Joined)]);
    }

    #[test]
    fn asking_twice_widens_the_one_job_queued() {
        let mut plan = Plan::new(vec![100], None, true);
        plan.next();
        plan.at(40);
        plan.asked(0, "a", 20);
        plan.at(50);
        plan.asked(0, "a", 30);
        plan.asked(0, "b", 45);
        plan.asked(0, "b", 60); // the delivery to everyone sends it these
        plan.finished();
        plan.asked(0, "c", 90); // after it ended: to the end
        assert_eq!(
            rest(&mut plan),
            [
                job(0, "a", 20, 50, Why::Asked),
                job(0, "b", 45, 50, Why::Asked),
                job(0, "c", 90, 100, Why::Asked),
            ]
        );
    }

    #[test]
    fn an_addressed_send_answers_its_addressee_alone_and_has_no_late_joiners() {
        let mut plan = Plan::new(vec![10], Some("a".into()), false);
        assert_eq!(plan.next(), Some(job(0, "a", 0, 10, Why::Main)));
        plan.finished();
        plan.joined("b");
        plan.asked(0, "b", 0);
        plan.asked(0, "a", 99); // past the end: its last chunk
        assert_eq!(rest(&mut plan), [job(0, "a", 9, 10, Why::Asked)]);
    }

    #[test]
    fn an_addressed_send_follows_its_addressee_back_under_a_new_id() {
        // restart.test.mjs's `send --to`: two items for "old", the first under way at the drop.
        let mut plan = Plan::new(vec![1024, 10], Some("old".into()), false);
        plan.next();
        plan.at(110);
        plan.rejoined();
        // Another member back under a new id is not the addressee.
        plan.returned("other-new", "other-old");
        assert_eq!(plan.to(), Some("old"));
        // The addressee's `client-joined`, then its hello: the delivery waited for it at 110.
        plan.joined("new");
        plan.returned("new", "old");
        assert_eq!(plan.to(), Some("new"));
        plan.at(123);
        plan.asked(0, "new", 102);
        plan.asked(0, "other-new", 0);
        plan.finished();
        assert_eq!(
            rest(&mut plan),
            [
                job(1, "new", 0, 10, Why::Main),
                job(0, "new", 102, 110, Why::Asked),
            ]
        );
    }

    #[test]
    fn a_member_that_left_gets_nothing_more() {
        let mut plan = Plan::new(vec![10, 10], None, true);
        plan.next();
        plan.at(5);
        plan.joined("a");
        plan.asked(0, "b", 0);
        plan.left("a");
        plan.finished();
        assert_eq!(
            rest(&mut plan),
            [
                Job {
                    item: 1,
                    to: None,
                    from: 0,
                    until: 10,
                    why: Why::Main
                },
                job(0, "b", 0, 5, Why::Asked),
            ]
        );
    }
}
