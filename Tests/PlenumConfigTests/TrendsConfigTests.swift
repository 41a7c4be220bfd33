import PlenumCore
import Testing

@testable import PlenumConfig

/// `trends:` in hub.yaml: defaults, every key, and located errors.
@Suite struct TrendsConfigTests {
    private func load(_ yaml: String) throws -> HubConfig {
        try ConfigLoader.parse(Array(yaml.utf8), file: "hub.yaml", baseDirectory: "/etc/plenum")
    }

    @Test func trendsAreOffUnlessEnabledAndDefaultsAreDocumented() throws {
        let off = try load("devices: []\n").trends
        #expect(!off.enabled)
        let on = try load("trends:\n  enabled: true\n").trends
        #expect(on.enabled && on.path == "trends.db" && on.resolvedPath == "/etc/plenum/trends.db")
        #expect(on.aggregateRetentionSeconds == 30 * 86_400 && on.rawRetentionSeconds == 86_400 && !on.raw)
        #expect(on.maxPendingMB == 64 && on.maxQueryPoints == 100_000 && on.prefixes.isEmpty)
    }

    @Test func everyKeyIsRead() throws {
        let trends = try load(
            """
            trends:
              enabled: true
              path: /var/lib/plenum/trends.db
              aggregate_retention: 90d
              raw: true
              raw_retention: 12h
              max_pending_mb: 16
              max_query_points: 5000
              prefixes:
                /plant/line2:
                  raw: false
                  aggregate_retention: 2w
                /plenum:
                  aggregate_retention: 0
                /plant/line1/chiller-1:
                  raw_retention: 3600

            """
        ).trends
        #expect(trends.resolvedPath == "/var/lib/plenum/trends.db")
        #expect(trends.aggregateRetentionSeconds == 90 * 86_400 && trends.raw && trends.rawRetentionSeconds == 43_200)
        #expect(trends.maxPendingMB == 16 && trends.maxQueryPoints == 5_000)
        #expect(
            trends.prefixes == [
                try ChannelPath("/plant/line2"): TrendsPrefixConfig(raw: false, aggregateRetentionSeconds: 14 * 86_400),
                try ChannelPath("/plenum"): TrendsPrefixConfig(aggregateRetentionSeconds: 0),
                try ChannelPath("/plant/line1/chiller-1"): TrendsPrefixConfig(rawRetentionSeconds: 3_600),
            ]
        )
    }

    /// In the order found: a mapping's unknown keys first, then its values.
    @Test func mistakesAreLocatedAndSayWhatIsExpected() {
        #expect(
            problems(
                """
                trends:
                  enabled: yes please
                  aggregate_retention: 30 days
                  raw_retention: 0
                  max_pending_mb: 0
                  prefixes:
                    plant:
                      raw: true
                    /plant/a:
                      raw_retention: 1000d
                      colour: red
                  pth: x.db

                """
            ) == [
                "hub.yaml:12:3: trends.pth: unknown key 'pth'; did you mean 'path'? (expected one of: enabled, path, aggregate_retention, raw, raw_retention, max_pending_mb, max_query_points, prefixes)",
                "hub.yaml:2:12: trends.enabled: expected true or false, found a string (yes please)",
                "hub.yaml:3:24: trends.aggregate_retention: expected a duration such as 30d, 24h or 90m (or seconds) from 1h to 3660d, or 0 for off, found a string (30 days)",
                "hub.yaml:4:18: trends.raw_retention: 0 is out of range; expected a duration such as 30d, 24h or 90m (or seconds) from 1m to 366d",
                "hub.yaml:5:19: trends.max_pending_mb: 0 is out of range; expected an integer from 1 to 4096",
                "hub.yaml:7:5: trends.prefixes.plant: 'plant' is not a valid channel prefix: the path must start with '/'",
                "hub.yaml:11:7: trends.prefixes./plant/a.colour: unknown key 'colour' (expected one of: raw, raw_retention, aggregate_retention)",
                "hub.yaml:10:22: trends.prefixes./plant/a.raw_retention: 1000d is out of range; expected a duration such as 30d, 24h or 90m (or seconds) from 1m to 366d",
            ]
        )
    }
}
