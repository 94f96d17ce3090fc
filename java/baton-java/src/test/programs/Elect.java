// A plain Java program with only baton's jar on its class path:
//   java -cp baton-java.jar Elect.java <store-url> <election> <ttl-millis>
// It campaigns and prints "GRANTED <token>" / "REVOKED <token> <reason>" until it is stopped.
import dev.baton.LeaderElection;
import dev.baton.LeadershipListener;
import dev.baton.RevokeReason;
import java.time.Duration;

public class Elect {
    public static void main(String[] args) throws Exception {
        LeaderElection election = LeaderElection.builder(args[0], args[1])
            .ttl(Duration.ofMillis(Long.parseLong(args[2])))
            .listener(new LeadershipListener() {
                @Override
                public void granted(long token) {
                    System.out.println("GRANTED " + token);
                }

                @Override
                public void revoked(long token, RevokeReason reason) {
                    System.out.println("REVOKED " + token + " " + reason.id());
                }
            })
            .build();
        System.out.println("CANDIDATE " + election.candidateId());
        Thread.sleep(Long.MAX_VALUE); // released by baton's shutdown hook on SIGTERM
    }
}
