"""The wording deny-list: patterns for the rules of clinical/WORDING.md that a machine can check.

These are the product's rules, not operator data, so they live here and not in a flow file. A
`Rule` is a pattern with the WORDING.md rule number and a plain reason; `then`, when set, is a
second pattern that must follow the first in the same sentence (rule 2: "you may have" then a
condition name), and each such follower is one finding. `questions` says whether the rule also
applies to sentences ending in "?" ("Has a doctor told you that you have coeliac disease?" asks
about a known diagnosis and is allowed). `CONDITION_NAMES` is also the diagnosis deny-list that
the vignette report checks every patient message against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CONDITION_NAMES = (
    r"leaky gut|(?:increased )?intestinal permeability|irritable bowel(?: syndrome)?|ibs|sibo"
    r"|small intestinal bacterial overgrowth|ibd|inflammatory bowel disease|crohn'?s(?: disease)?"
    r"|(?:ulcerative )?colitis|co?eliac(?: disease)?|celiac(?: disease)?|dysbiosis|candida"
    r"|(?:bowel |colon |stomach |colorectal )?cancer|tumou?rs?|gluten (?:intolerance|sensitivity)"
    r"|food (?:intolerances?|sensitivit(?:y|ies)|allerg(?:y|ies))|lactose intolerance"
    r"|h\.? ?pylori|gastritis|(?:stomach |peptic )?ulcers?|diverticul(?:itis|osis|ar disease)"
    r"|gallstones|pancreatitis|endometriosis|gut inflammation|inflammation|an infection"
    r"|parasites?|histamine intolerance|mast cell activation|adrenal fatigue|autoimmun\w*"
)
CONDITION = re.compile(rf"\b(?:{CONDITION_NAMES})\b", re.IGNORECASE)

_ADVICE_VERBS = (
    r"take|try|start|stop|avoid|cut out|cut down on|cut back on|reduce|eliminate|remove|quit"
    r"|increase|add|drink|eat|switch to|go|use|skip|limit|follow|give up|come off|swap"
)
_ADVICE_OBJECTS = (
    r"supplements?|probiotics?|prebiotics?|(?:l-?)?glutamine|zinc(?: carnosine)?|collagen"
    r"|bone broth|glycine|peptides?|fibre|fiber|fermented foods?|nsaids?|ibuprofen|naproxen"
    r"|aspirin|painkillers?|medications?|medicines?|tablets?|pills?|antibiotics?|ppis?"
    r"|omeprazole|lansoprazole|gluten|dairy|lactose|sugar|alcohol|caffeine|coffee"
    r"|(?:low[- ])?fodmaps?|diet|elimination|gluten[- ]free|dairy[- ]free|vitamins?"
    r"|magnesium|iron|fish oil|omega|enzymes?|apple cider vinegar|kefir|kombucha"
)
_CARE_VERBS = (
    r"contact|call|ring|phone|see|go to|talk|speak|seek|get (?:help|medical)|book|tap|send"
    r"|type|answer|share|use the button|keep yourself safe"
)
_TEST_WORDS = r"tests?|panels?|workup|work-up|testing|screening|analysis|results?|zonulin"
_PROOF_VERBS = (
    r"diagnos(?:e|es|ing)|prove[sn]?|confirm(?:s)?|detect(?:s)?|find(?:s)?|identif(?:y|ies)"
    r"|reveal(?:s)?|pinpoint(?:s)?|show(?:s)?|uncover(?:s)?"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One deny-list pattern of WORDING.md rule `number`."""

    number: int
    pattern: re.Pattern[str]
    why: str
    then: re.Pattern[str] | None = None
    questions: bool = True  # also checked in sentences that end with "?"
    clinician: bool = False  # also checked in clinician-facing texts (workup reasons)


def _rx(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.IGNORECASE)


TIE = "ties a condition to the patient"

RULES: tuple[Rule, ...] = (
    Rule(
        2,
        _rx(
            r"\byou(?: may| might| could| probably| likely| possibly| seem to| appear to)"
            r"(?: well)? have\b|\byou(?:'re| are) (?:likely|probably|possibly) to have\b"
        ),
        TIE,
        then=CONDITION,
    ),
    Rule(
        2,
        _rx(
            r"\b(?:sounds?|looks?|seems?) like\b|\bconsistent with\b|\bsuggest(?:s|ing|ive of)?\b"
            r"|\bindicat(?:e|es|ing|ive of)\b|\bpoints? to\b|\btypical of\b|\b(?:a )?signs? of\b"
            r"|\b(?:likely|probably|possibly|perhaps|maybe)\b"
        ),
        TIE,
        then=CONDITION,
    ),
    Rule(
        2,
        _rx(r"\byou(?:'ve| have)(?: got)?\b|\bit(?:'s| is)\b|\bthis is\b|\bdue to\b|caused by"),
        TIE,
        then=CONDITION,
        questions=False,
    ),
    Rule(
        4,
        _rx(
            r"\byour (?:\w+ )?(?:score|risk|rating|grade)s?\b|\byou scored\b"
            r"|\b\d+(?:\.\d+)? ?(?:%|percent\b|per cent\b)"
            r"|\b(?:high|low|moderate|medium|increased|elevated|higher|lower) risk\b"
            r"|\b(?:risk|severity) (?:level|score|category|group|rating|grade)\b"
            r"|\bprobability\b|\blikelihood\b|\bchances? (?:of|that|are)\b"
        ),
        "shows the patient a score, probability or risk level",
    ),
    Rule(
        5,
        _rx(
            r"\bbased on your (?:symptoms|answers)\b"
            r"|\byou need (?:a|an|the|this) \w+ (?:test|panel)"
        ),
        "routes by the patient's answers; every patient gets the same next step",
        questions=False,
    ),
    Rule(
        6,
        _rx(
            rf"\b(?:{_TEST_WORDS})\b(?:\s+[\w'-]+){{0,3}}?\s+(?:{_PROOF_VERBS})\b"
            r"|\b(?:find|finds|identify|identifies|reveal|reveals|pinpoint|pinpoints|uncover"
            r"|uncovers) (?:your|the root cause|the cause)\b"
        ),
        "claims what a test proves",
        questions=False,
        clinician=True,
    ),
    Rule(
        7,
        _rx(rf"\b(?:{_ADVICE_VERBS})\b(?:\s+[\w'-]+){{0,3}}?\s+(?:{_ADVICE_OBJECTS})\b"),
        "gives treatment, diet, supplement or medicine advice",
        questions=False,
    ),
    Rule(
        2,
        _rx(
            r"\b(?:people|patients|those|anyone|someone|everyone|most people|many people)"
            r" (?:with|who have|who've got|suffering from)\b"
        ),
        "makes a claim about a condition",
        then=CONDITION,
        questions=False,
    ),
    Rule(
        7,
        _rx(
            r"\byou (?:should|must|ought to|need to|have to|had better|could try to)\b"
            rf"(?!\s+(?:{_CARE_VERBS})\b)"
            r"|\b(?:i|we) (?:would |'d )?(?:recommend|suggest|advise)\b"
            r"|\bit(?:'s| is) (?:best|better|a good idea) to\b"
        ),
        "gives advice ('you should ...'); the only directive allowed is to seek care",
        questions=False,
    ),
    Rule(
        9,
        _rx(
            r"\bnothing to (?:worry|be worried|be concerned|fear)\b|\bno need to worry\b"
            r"|\b(?:don'?t|do not) (?:worry|be (?:alarmed|afraid|scared))\b"
            r"|\b(?:that|this|it)(?:'s| is) (?:perfectly |completely |totally |quite |very )?"
            r"(?:normal|harmless|nothing)\b|\b(?:perfectly|completely|totally) normal\b"
            r"|\b(?:sounds like|probably|just|likely|only) (?:stress|anxiety|nerves)\b"
            r"|\byou(?:'re| are|'ll be| will be) (?:fine|okay|ok|alright|all right)\b"
            r"|\bprobably nothing\b|\bnothing serious\b|\bnot serious\b|\bno cause for concern\b"
        ),
        "falsely reassures",
    ),
)
