package dev.baton.spring.autoconfigure;

import org.springframework.boot.autoconfigure.condition.ConditionOutcome;
import org.springframework.boot.autoconfigure.condition.SpringBootCondition;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.ConditionContext;
import org.springframework.core.type.AnnotatedTypeMetadata;

/** Matches when the application names its default election (baton.name or spring.application.name). */
class OnDefaultElectionCondition extends SpringBootCondition {
    @Override
    public ConditionOutcome getMatchOutcome(ConditionContext context, AnnotatedTypeMetadata metadata) {
        BatonProperties properties = Binder.get(context.getEnvironment())
            .bind("baton", BatonProperties.class).orElseGet(BatonProperties::new);
        String name = BatonElectionFactory.defaultName(properties, context.getEnvironment());
        return name != null
            ? ConditionOutcome.match("default election '" + name + "'")
            : ConditionOutcome.noMatch("neither baton.name nor spring.application.name is set");
    }
}
