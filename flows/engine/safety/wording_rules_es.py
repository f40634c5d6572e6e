"""The wording deny-list in Spanish: the rules of clinical/WORDING.md for texts written in `es`.

The same `Rule` shapes and numbers as `flows.engine.safety.wording_rules`, over Spanish words.
Patterns are written without accents: the lint matches them against the text with its accents
folded away ("celiaquía" is read as "celiaquia"), so a text with or without accents is caught
alike. Both lists apply to every text, so a Spanish sentence in an English text is checked too.
"""

from __future__ import annotations

import re

from flows.engine.safety.wording_rules import TIE, Rule

CONDITION_NAMES_ES = (
    r"intestino permeable|(?:aumento de (?:la )?|hiper)?permeabilidad intestinal"
    r"|(?:sindrome (?:del|de) )?(?:intestino|colon) irritable|sii|sibo"
    r"|sobrecrecimiento bacteriano(?: (?:del intestino delgado|intestinal))?|eii"
    r"|enfermedad inflamatoria (?:intestinal|del intestino)|(?:enfermedad de )?crohn"
    r"|colitis(?: ulcerosa)?|celiaquia|(?:enfermedad )?celiaca|disbiosis|candida|candidiasis"
    r"|cancer(?: de (?:colon|estomago|intestino|recto)| colorrectal)?|tumor(?:es)?"
    r"|intolerancias? (?:al gluten|a la lactosa|a la histamina|alimentarias?|a (?:los )?alimentos)"
    r"|sensibilidad al gluten|alergias? (?:alimentarias?|a (?:los )?alimentos)"
    r"|helicobacter(?: pylori)?|gastritis|ulceras?(?: (?:de estomago|pepticas?|gastricas?))?"
    r"|diverticul(?:itis|osis)|calculos biliares|piedras en la vesicula|pancreatitis"
    r"|endometriosis|inflamacion(?: intestinal)?|una infeccion|parasitos?|fatiga adrenal"
    r"|activacion mastocitaria|autoinmun\w*"
)
CONDITION_ES = re.compile(rf"\b(?:{CONDITION_NAMES_ES})\b", re.IGNORECASE)

_HAVE = r"(?:tenga|tengas|tiene|tienes|padezca|padezcas|padece|padeces|sufra|sufras|sufre|sufres)"
_ADVICE_VERBS_ES = (
    r"tome|tomes|toma|tomar|tomese|pruebe|pruebes|probar|empiece|empieza|empezar|comience"
    r"|comienza|comenzar|deje|dejes|deja|dejar|evite|evites|evita|evitar|elimine|elimina"
    r"|eliminar|reduzca|reduce|reducir|aumente|aumenta|aumentar|anada|anade|anadir|beba|bebe"
    r"|beber|coma|come|comer|use|usa|usar|utilice|utiliza|siga|sigue|seguir|cambie|cambia"
    r"|cambiar|suprima|suprime|suprimir|quite|quita|quitar|limite|limita|limitar|suspenda"
    r"|suspende|suspender"
)
_ADVICE_OBJECTS_ES = (
    r"suplementos?|complementos?|probioticos?|prebioticos?|glutamina|zinc|colageno"
    r"|caldo de huesos|glicina|peptidos?|fibra|fermentados?|aines|antiinflamatorios?"
    r"|ibuprofeno|naproxeno|aspirina|analgesicos?|medicamentos?|medicinas?|farmacos?"
    r"|pastillas?|comprimidos?|antibioticos?|omeprazol|lansoprazol|gluten|lacteos|lactosa"
    r"|azucar|alcohol|cafeina|cafe|fodmaps?|dieta|sin gluten|sin lactosa|vitaminas?"
    r"|magnesio|hierro|aceite de pescado|omega|enzimas?|vinagre de manzana|kefir|kombucha"
)
_TEST_WORDS_ES = r"pruebas?|analisis|analiticas?|paneles?|estudios?|resultados?|zonulina|tests?"
_PROOF_VERBS_ES = (
    r"diagnostica|diagnostican|demuestra|demuestran|confirma|confirman|detecta|detectan"
    r"|encuentra|encuentran|identifica|identifican|revela|revelan|descubre|descubren"
    r"|muestra|muestran|localiza|localizan|averigua|averiguan"
)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


RULES_ES: tuple[Rule, ...] = (
    Rule(
        2,
        _rx(
            r"\b(?:puede que|es posible que|es probable que|quizas?|tal vez|a lo mejor"
            rf"|seguramente|probablemente|posiblemente|parece que)\s+(?:usted\s+|tu\s+)?{_HAVE}\b"
            r"|\b(?:usted\s+)?(?:podria|podrias|puede|puedes|debe|debes)\s+(?:de\s+)?"
            r"(?:tener|padecer|sufrir)\b"
        ),
        TIE,
        then=CONDITION_ES,
    ),
    Rule(
        2,
        _rx(
            r"\b(?:suenan? a|se parecen? a|parecen?|compatibles? con|sugieren?|sugestiv[oa]s? de"
            r"|indican?|indicativ[oa]s? de|apuntan? a|tipic[oa]s? de|signos? de|senal(?:es)? de"
            r"|sintomas? de|probablemente|posiblemente|quizas?|tal vez)\b"
        ),
        TIE,
        then=CONDITION_ES,
    ),
    Rule(
        2,
        _rx(
            rf"\b{_HAVE}\b|\bsufres? de\b|\b(?:esto|eso) es\b|\bse trata de\b|\bse debe a\b"
            r"|\bcausad[oa]s? por\b|\bdebid[oa]s? a\b"
        ),
        TIE,
        then=CONDITION_ES,
        questions=False,
    ),
    Rule(
        4,
        _rx(
            r"\b(?:su|tu) (?:\w+ )?(?:puntuacion|riesgo|calificacion|nota)(?:es)?\b"
            r"|\bpor ciento\b"
            r"|\b(?:riesgo|probabilidad) (?:alt|baj|moderad|medi|elevad|aumentad)[oa]\b"
            r"|\b(?:alto|bajo|moderado|mayor|menor) riesgo\b"
            r"|\b(?:nivel|categoria|grado|puntuacion) de (?:riesgo|gravedad)\b"
            r"|\bprobabilidad(?:es)?\b|\bposibilidad(?:es)? de\b"
        ),
        "shows the patient a score, probability or risk level",
    ),
    Rule(
        5,
        _rx(
            r"\b(?:segun|en base a|basandonos en|a partir de|por) (?:sus|tus) "
            r"(?:sintomas|respuestas)\b|\bnecesitas? (?:un|una|el|la|este|esta) (?:\w+ )?"
            r"(?:prueba|analisis|analitica|panel|estudio)\b"
        ),
        "routes by the patient's answers; every patient gets the same next step",
        questions=False,
    ),
    Rule(
        6,
        _rx(
            rf"\b(?:{_TEST_WORDS_ES})\b(?:\s+[\w'-]+){{0,3}}?\s+(?:{_PROOF_VERBS_ES})\b"
            r"|\b(?:encontrar|encontrara|identificar|identificara|revelar|revelara|descubrir"
            r"|descubrira|averiguar|averiguara) (?:su|tu|la) (?:causa|origen|raiz)\b"
        ),
        "claims what a test proves",
        questions=False,
        clinician=True,
    ),
    Rule(
        7,
        _rx(rf"\b(?:{_ADVICE_VERBS_ES})\b(?:\s+[\w'-]+){{0,3}}?\s+(?:{_ADVICE_OBJECTS_ES})\b"),
        "gives treatment, diet, supplement or medicine advice",
        questions=False,
    ),
    Rule(
        9,
        _rx(
            r"\bnada (?:de|por) (?:lo )?que preocupar(?:se|te)\b"
            r"|\bno hay (?:de |por )?(?:que|nada de que) preocupar(?:se|te)\b"
            r"|\bno (?:se|te) (?:preocupe|preocupes|alarme|alarmes|asuste|asustes)\b"
            r"|\b(?:esto|eso|es|son) (?:(?:totalmente|completamente|perfectamente|bastante|muy) )?"
            r"(?:normal(?:es)?|inofensiv[oa]s?)\b|\bno es nada\b|\bno sera nada\b"
            r"|\b(?:solo|solamente|seguramente|probablemente) (?:es |sea |son )?"
            r"(?:estres|ansiedad|nervios)\b"
            r"|\b(?:estara|estaras|va a estar|vas a estar) (?:bien|perfectamente)\b"
            r"|\bno es (?:grave|serio)\b|\bnada (?:grave|serio)\b"
            r"|\bno hay (?:motivo|razon) (?:de|para) (?:preocupacion|preocuparse|alarma)\b"
            r"|\bprobablemente no (?:sea|es) nada\b"
        ),
        "falsely reassures",
    ),
)
